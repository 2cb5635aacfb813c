#include "merge/check.h"

#include <fmt/format.h>

#include "warehouse/sql.h"

namespace dimstream {

Result<std::vector<std::string>> CheckInvariants(Warehouse& warehouse, const EntitySpec& entity) {
  return CheckInvariants([&](const std::string& sql) { return warehouse.Query(sql); }, entity);
}

Result<std::vector<std::string>> CheckInvariants(const QueryFn& query, const EntitySpec& entity) {
  std::string keys = IdentList(entity.key_columns);
  // One text per key, for the message: "42", or "(acme, 7)" for a composite key.
  std::string key_text;
  if (entity.key_columns.size() == 1) {
    key_text = fmt::format("CAST({} AS VARCHAR)", QuoteIdent(entity.key_columns.front()));
  } else {
    std::string parts;
    for (const auto& k : entity.key_columns) {
      parts += (parts.empty() ? "" : ", ") + fmt::format("CAST({} AS VARCHAR)", QuoteIdent(k));
    }
    key_text = "'(' || concat_ws(', ', " + parts + ") || ')'";
  }
  std::vector<std::string> from_cols = {"valid_from"};
  std::vector<std::string> to_cols = {"valid_to"};
  for (const auto& c : entity.extra_sequence_columns()) {
    from_cols.push_back("valid_from_" + c);
    to_cols.push_back("valid_to_" + c);
  }
  std::string from = IdentList(from_cols);
  std::string to = IdentList(to_cols);
  std::string next_from;  // lead(valid_from) AS n_valid_from, ...
  std::string next_row;   // (n_valid_from, ...)
  for (const auto& c : from_cols) {
    next_from += fmt::format(", lead({0}) OVER (PARTITION BY {1} ORDER BY {2}) AS {3}", QuoteIdent(c), keys,
                             from, QuoteIdent("n_" + c));
    next_row += (next_row.empty() ? "" : ", ") + QuoteIdent("n_" + c);
  }
  std::string history = QuoteIdent(entity.history_table());
  std::string current = QuoteIdent(entity.current_table());
  std::vector<std::string> dims = entity.key_columns;
  for (const auto& a : entity.attribute_columns()) {
    dims.push_back(a);
  }
  std::string values = IdentList(dims) + ", " + from;
  // For the join of the open versions (h) with the current rows (c): the key of either side, the key
  // condition, and "no partner, or a value differs" (IS DISTINCT FROM: NULL equals NULL).
  std::string either_key;
  std::string key_match;
  for (const auto& k : entity.key_columns) {
    either_key +=
        fmt::format("{0}coalesce(h.{1}, c.{1}) AS {1}", either_key.empty() ? "" : ", ", QuoteIdent(k));
    key_match += fmt::format("{0}h.{1} = c.{1}", key_match.empty() ? "" : " AND ", QuoteIdent(k));
  }
  std::string first_key = QuoteIdent(entity.key_columns.front());
  std::vector<std::string> compared = dims;
  compared.insert(compared.end(), from_cols.begin(), from_cols.end());
  std::string differs = fmt::format("h.{0} IS NULL OR c.{0} IS NULL OR ({1}) IS DISTINCT FROM ({2})",
                                    first_key, IdentList(compared, "h."), IdentList(compared, "c."));
  struct Invariant {
    std::string name;
    std::string keys_sql;  // returns the offending keys, as text
  };
  const Invariant invariants[] = {
      {"more than one current version",
       fmt::format("SELECT {0} FROM {1} WHERE is_current GROUP BY {2} HAVING count(*) > 1", key_text, history,
                   keys)},
      {"is_current disagrees with valid_to",
       fmt::format("SELECT DISTINCT {} FROM {} WHERE is_current IS DISTINCT FROM (valid_to IS NULL)",
                   key_text, history)},
      {"a version ends before it starts",
       fmt::format("SELECT DISTINCT {} FROM {} WHERE valid_to IS NOT NULL AND ({}) <= ({})", key_text,
                   history, to, from)},
      {"versions overlap or leave a gap not made by a delete or truncate",
       fmt::format("SELECT DISTINCT {0} FROM (SELECT {1}, {2}, _ended_by_delete{3} FROM {4}) AS w WHERE {5} "
                   "IS NOT NULL "
                   "AND (valid_to IS NULL OR ({2}) > ({6}) OR (({2}) < ({6}) AND NOT _ended_by_delete))",
                   key_text, keys, to, next_from, history, QuoteIdent("n_" + from_cols.front()), next_row)},
      {entity.current_table() + " holds a key more than once",
       fmt::format("SELECT {0} FROM {1} GROUP BY {2} HAVING count(*) > 1", key_text, current, keys)},
      // Joined on the key, not compared as sets (EXCEPT ALL): only one side is held in a hash table, so
      // `check` of the hostile corpus (a 100 MiB value) peaks at 650 MiB, not 1,457 MiB.
      {entity.current_table() + " differs from the open versions of " + entity.history_table(),
       fmt::format("SELECT DISTINCT {0} FROM (SELECT {1} FROM (SELECT {2} FROM {3} WHERE is_current) h "
                   "FULL OUTER JOIN (SELECT {2} FROM {4}) c ON {5} WHERE {6}) AS d",
                   key_text, either_key, values, history, current, key_match, differs)},
  };
  std::vector<std::string> failures;
  for (const Invariant& inv : invariants) {
    auto r = query(fmt::format("SELECT * FROM ({}) AS f ORDER BY 1 LIMIT 21", inv.keys_sql));
    if (!r.ok()) {
      return r.error().Context("cannot check '" + inv.name + "'");
    }
    if (r->rows.empty()) {
      continue;
    }
    std::string shown;
    for (size_t i = 0; i < r->rows.size() && i < 20; ++i) {
      shown += (i ? ", " : "") + r->rows[i][0].value_or("NULL");
    }
    if (r->rows.size() > 20) {
      shown += ", ...";
    }
    std::string key_name = entity.key_columns.size() == 1 ? entity.key_columns.front() : "(" + [&] {
      std::string out;
      for (const auto& k : entity.key_columns) {
        out += (out.empty() ? "" : ", ") + k;
      }
      return out;
    }() + ")";
    failures.push_back(fmt::format("{}: {} {}", inv.name, key_name, shown));
  }
  return failures;
}

}  // namespace dimstream
