#include "warehouse/duckdb/entity_tables.h"

#include <fmt/format.h>

#include "common/typed_value.h"
#include "warehouse/merge_session.h"
#include "warehouse/sql.h"

namespace dimstream::duck {

EntityTables::EntityTables(const EntitySpec& entity)
    : e(entity),
      raw(QuoteIdent(entity.raw_table())),
      stage(std::string("temp.") + kStageView),
      log(QuoteIdent(entity.log_table())),
      truncates(QuoteIdent(entity.truncates_table())),
      history(QuoteIdent(entity.history_table() + "_base")),
      current(QuoteIdent(entity.current_table() + "_base")),
      rejects(QuoteIdent(entity.rejects_table())),
      history_view(QuoteIdent(entity.history_table())),
      current_view(QuoteIdent(entity.current_table())),
      delta(QuoteIdent(entity.name + "_delta")),
      exact_kid(entity.exact_key_id()),
      compact_seq(entity.sequence_columns.size() <= 1 && HasCompactEncoding(entity.sequence_type())),
      kid(exact_kid ? QuoteIdent(entity.key_columns.front()) : "_kid"),
      kid_type(exact_kid ? "BIGINT" : "UBIGINT") {
  merge_on_read = compact_seq && entity.scd1_scope == Scd1Scope::kCurrent;
  for (const auto& c : entity.key_columns) {
    keys.push_back(QuoteIdent(c));
  }
  for (const auto& c : entity.scd1_columns) {
    scd1.push_back(QuoteIdent(c));
  }
  for (const auto& c : entity.scd2_columns) {
    scd2.push_back(QuoteIdent(c));
  }
  seq.push_back("_seq");
  valid_from.push_back("valid_from");
  valid_to.push_back("valid_to");
  for (const auto& c : entity.extra_sequence_columns()) {
    seq.push_back(QuoteIdent(c));
    valid_from.push_back(QuoteIdent("valid_from_" + c));
    valid_to.push_back(QuoteIdent("valid_to_" + c));
  }
}

std::string EntityTables::Of(const std::string& alias, const std::vector<std::string>& cols) {
  std::string out;
  for (const auto& c : cols) {
    out += (out.empty() ? "" : ", ") + (alias.empty() ? c : alias + "." + c);
  }
  return out;
}

std::string EntityTables::Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    if (!p.empty()) {
      out += (out.empty() ? "" : ", ") + p;
    }
  }
  return out;
}

std::string EntityTables::KeysEqual(const std::string& a, const std::string& b) const {
  std::string out;
  for (const auto& k : keys) {
    out += fmt::format("{}{}.{} = {}.{}", out.empty() ? "" : " AND ", a, k, b, k);
  }
  return out;
}

std::string EntityTables::KidOf(const std::string& alias) const {
  return alias.empty() ? kid : alias + "." + kid;
}

std::string EntityTables::SeqRead(const std::string& alias) const {
  std::string column = compact_seq ? "_seq" : "_seq_key";
  return alias.empty() ? column : alias + "." + column;
}

std::string EntityTables::SeqEqual(const std::string& a, const std::string& b) const {
  std::string out;
  for (const auto& c : seq) {
    out += fmt::format("{}{}.{} = {}.{}", out.empty() ? "" : " AND ", a, c, b, c);
  }
  return out;
}

std::string EntityTables::AndSameKey(const std::string& a, const std::string& b) const {
  return e.exact_key_id() ? std::string() : " AND " + KeysEqual(a, b);
}

std::string EntityTables::SeveralKeys() const {
  if (e.exact_key_id()) {
    return "false";
  }
  // A set of tuples holds one tuple exactly when every column has one value (keys are never NULL).
  std::string out;
  for (const auto& k : keys) {
    out += fmt::format("{}min({}) <> max({})", out.empty() ? "" : " OR ", k, k);
  }
  return "(" + out + ")";
}

namespace {

std::string TypedColumns(const EntitySpec& e, const std::vector<std::string>& columns) {
  std::string out;
  for (const auto& c : columns) {
    out += (out.empty() ? "" : ", ") + QuoteIdent(c) + " " + e.TypeOf(c).SqlName();
  }
  return out;
}

// _seq (or valid_from / valid_to) and the further sequence columns, typed.
std::string SequenceDdl(const EntitySpec& e, const std::string& first, const std::string& prefix) {
  std::string out = first + " " + e.sequence_type().SqlName();
  for (const auto& c : e.extra_sequence_columns()) {
    out += ", " + QuoteIdent(prefix + c) + " " + e.TypeOf(c).SqlName();
  }
  return out;
}

std::string KeysAndAttributesDdl(const EntitySpec& e) {
  std::vector<std::string> cols = e.key_columns;
  for (const auto& c : e.attribute_columns()) {
    cols.push_back(c);
  }
  return TypedColumns(e, cols);
}

}  // namespace

std::string EntityTables::RawColumnsDdl() const {
  return Join({TypedColumns(e, e.input_columns()),
               "_object_key VARCHAR, _line BIGINT, _arrival BIGINT, _load_id BIGINT, _loaded_at TIMESTAMP",
               "_seq " + e.sequence_type().SqlName(), compact_seq ? "" : "_seq_key BLOB",
               exact_kid ? "" : "_kid UBIGINT", "_op VARCHAR, _scd1_hash UBIGINT, _scd2_hash UBIGINT"});
}

std::string EntityTables::TruncatesColumnsDdl() const {
  return Join({SequenceDdl(e, "_seq", ""), compact_seq ? "" : "_seq_key BLOB", "_arrival BIGINT"});
}

std::string EntityTables::HistoryColumnsDdl() const {
  return Join(
      {KeysAndAttributesDdl(e), SequenceDdl(e, "valid_from", "valid_from_"),
       SequenceDdl(e, "valid_to", "valid_to_"),
       "is_current BOOLEAN, _ended_by_delete BOOLEAN, _opened_arrival BIGINT, _updated_arrival BIGINT, "
       "_scd1_hash UBIGINT, _scd2_hash UBIGINT",
       exact_kid ? "" : "_kid UBIGINT"});
}

std::string EntityTables::CurrentColumnsDdl() const {
  return Join({KeysAndAttributesDdl(e), SequenceDdl(e, "valid_from", "valid_from_"),
               "_opened_arrival BIGINT, _updated_arrival BIGINT, _scd1_hash UBIGINT, _scd2_hash UBIGINT",
               exact_kid ? "" : "_kid UBIGINT"});
}

std::string EntityTables::DeltaColumnsDdl() const {
  return fmt::format("kid {0}, opened BIGINT, updated BIGINT, closed BIGINT, del BOOLEAN, vf {1}, vt {1}",
                     kid_type, e.sequence_type().SqlName());
}

std::string EntityTables::DeltaRows(const std::string& delta_rows, bool history_rows, bool key_from_delta,
                                    const std::string& records) const {
  // A key that is its own key id comes from the delta row: a query on the key then filters the delta, and
  // the join reads only the log records of the rows it kept (not every log record of the key).
  std::string key_cols = key_from_delta ? "d.kid AS " + keys.front() : Of("u", keys);
  std::vector<std::string> cols = {key_cols, Of("u", scd1), Of("u", scd2), "d.vf"};
  if (history_rows) {
    cols.push_back("d.vt, d.closed IS NULL, d.del");
  }
  cols.push_back("d.opened, d.updated, u._scd1_hash, u._scd2_hash");
  if (!exact_kid) {
    cols.push_back("u._kid");
  }
  return fmt::format("SELECT {} FROM {} d JOIN {} u ON u._arrival = d.updated{}", Join(cols), delta_rows,
                     records, history_rows ? "" : " WHERE d.closed IS NULL");
}

std::string EntityTables::BaseHistoryRow(const std::string& closed_at, const std::string& is_current,
                                         const std::string& ended_by_delete) const {
  return Join({Of("b", keys), Of("b", scd1), Of("b", scd2), "b.valid_from", closed_at, is_current,
               ended_by_delete, "b._opened_arrival, b._updated_arrival, b._scd1_hash, b._scd2_hash",
               exact_kid ? "" : "b._kid"});
}

std::string EntityTables::RawView() const {
  // The watermark as the merge writes it (merge_session.h); none yet: every record (arrivals are positive).
  return fmt::format(
      "SELECT * FROM {} WHERE _arrival > coalesce((SELECT max(CAST(parameter_value AS BIGINT)) FROM "
      "parameter_control WHERE job_name = {} AND parameter_name = {}), 0)",
      log, QuoteLiteral(e.merge_job()), QuoteLiteral(kWatermarkParameter));
}

std::string EntityTables::HistoryView() const {
  if (!merge_on_read) {
    return fmt::format("SELECT {} FROM {}", HistoryColumns(), history);
  }
  // The closed versions compacted (the history base table holds only those: runs change open versions
  // only); the open ones compacted, from the current base table, open or closed by a delta row that only
  // closes them; then the delta's rows with values.
  std::string open_cols = BaseHistoryRow("d.vt AS valid_to", "d.opened IS NULL AS is_current",
                                         "coalesce(d.del, false) AS _ended_by_delete");
  return fmt::format(
      "SELECT {} FROM {} UNION ALL SELECT {} FROM {} b LEFT JOIN {} d ON d.opened = b._opened_arrival WHERE "
      "d.updated IS NULL UNION ALL {}",
      HistoryColumns(), history, open_cols, current, delta, DeltaRows(delta, true));
}

std::string EntityTables::CurrentView() const {
  if (!merge_on_read) {
    return fmt::format("SELECT {} FROM {}", CurrentColumns(), current);
  }
  // A base row whose version the delta does not hold; then the delta's open versions.
  return fmt::format(
      "SELECT {} FROM {} b WHERE NOT EXISTS (SELECT 1 FROM {} d WHERE d.opened = b._opened_arrival) UNION "
      "ALL "
      "{}",
      Join({Of("b", keys), Of("b", scd1), Of("b", scd2), "b.valid_from",
            "b._opened_arrival, b._updated_arrival, b._scd1_hash, b._scd2_hash", exact_kid ? "" : "b._kid"}),
      current, delta, DeltaRows(delta, false));
}

std::string EntityTables::LogColumns() const {
  return Join({Of("", keys), Of("", scd1), Of("", scd2), "_op", Of("", seq), compact_seq ? "" : "_seq_key",
               "_arrival", exact_kid ? "" : "_kid", "_scd1_hash, _scd2_hash"});
}

std::string EntityTables::HistoryColumns() const {
  return Join({Of("", keys), Of("", scd1), Of("", scd2), Of("", valid_from), Of("", valid_to),
               "is_current, _ended_by_delete, _opened_arrival, _updated_arrival, _scd1_hash, _scd2_hash",
               exact_kid ? "" : "_kid"});
}

std::string EntityTables::CurrentColumns() const {
  return Join({Of("", keys), Of("", scd1), Of("", scd2), Of("", valid_from),
               "_opened_arrival, _updated_arrival, _scd1_hash, _scd2_hash", exact_kid ? "" : "_kid"});
}

}  // namespace dimstream::duck
