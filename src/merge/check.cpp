#include "merge/check.h"

#include <fmt/format.h>

#include "warehouse/sql.h"

namespace dimstream {

Result<std::vector<std::string>> CheckInvariants(Warehouse& warehouse, const EntitySpec& entity) {
  return CheckInvariants([&](const std::string& sql) { return warehouse.Query(sql); }, entity);
}

Result<std::vector<std::string>> CheckInvariants(const QueryFn& query, const EntitySpec& entity) {
  std::string key = QuoteIdent(entity.key_column());
  std::string history = QuoteIdent(entity.history_table());
  std::string current = QuoteIdent(entity.current_table());
  std::string attrs = IdentList(entity.attribute_columns());
  struct Invariant {
    std::string name;
    std::string keys_sql;  // returns the offending keys
  };
  const Invariant invariants[] = {
      {"more than one current version",
       fmt::format("SELECT {0} FROM {1} WHERE is_current GROUP BY {0} HAVING count(*) > 1", key, history)},
      {"is_current disagrees with valid_to",
       fmt::format("SELECT DISTINCT {0} FROM {1} WHERE is_current IS DISTINCT FROM (valid_to IS NULL)", key,
                   history)},
      {"a version ends before it starts",
       fmt::format("SELECT DISTINCT {0} FROM {1} WHERE valid_to <= valid_from", key, history)},
      {"versions overlap or leave a gap not made by a delete",
       fmt::format(
           "SELECT DISTINCT {0} FROM (SELECT {0}, valid_to, _ended_by_delete, lead(valid_from) OVER "
           "(PARTITION "
           "BY {0} ORDER BY valid_from) AS next_from FROM {1}) WHERE next_from IS NOT NULL AND (valid_to IS "
           "NULL OR valid_to > next_from OR (valid_to < next_from AND NOT _ended_by_delete))",
           key, history)},
      {entity.current_table() + " differs from the open versions of " + entity.history_table(),
       fmt::format(
           "SELECT DISTINCT {0} FROM ((SELECT {0}, {2}, valid_from FROM {1} WHERE is_current EXCEPT ALL "
           "SELECT {0}, {2}, valid_from FROM {3}) UNION ALL (SELECT {0}, {2}, valid_from FROM {3} EXCEPT ALL "
           "SELECT {0}, {2}, valid_from FROM {1} WHERE is_current))",
           key, history, attrs, current)},
  };
  std::vector<std::string> failures;
  for (const Invariant& inv : invariants) {
    auto r = query(fmt::format("SELECT * FROM ({}) ORDER BY 1 LIMIT 21", inv.keys_sql));
    if (!r.ok()) {
      return r.error().Context("cannot check '" + inv.name + "'");
    }
    if (r->rows.empty()) {
      continue;
    }
    std::string keys;
    for (size_t i = 0; i < r->rows.size() && i < 20; ++i) {
      keys += (i ? ", " : "") + r->rows[i][0].value_or("NULL");
    }
    if (r->rows.size() > 20) {
      keys += ", ...";
    }
    failures.push_back(fmt::format("{}: {} {}", inv.name, entity.key_column(), keys));
  }
  return failures;
}

}  // namespace dimstream
