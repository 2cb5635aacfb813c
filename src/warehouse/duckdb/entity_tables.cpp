#include "warehouse/duckdb/entity_tables.h"

#include <fmt/format.h>

#include "common/typed_value.h"
#include "warehouse/sql.h"

namespace dimstream::duck {

EntityTables::EntityTables(const EntitySpec& entity)
    : e(entity),
      raw(QuoteIdent(entity.raw_table())),
      stage(QuoteIdent(entity.stage_table())),
      log(QuoteIdent(entity.log_table())),
      truncates(QuoteIdent(entity.truncates_table())),
      history(QuoteIdent(entity.history_table())),
      current(QuoteIdent(entity.current_table())),
      rejects(QuoteIdent(entity.rejects_table())),
      exact_kid(entity.exact_key_id()),
      compact_seq(entity.sequence_columns.size() <= 1 && HasCompactEncoding(entity.sequence_type())),
      kid(exact_kid ? QuoteIdent(entity.key_columns.front()) : "_kid"),
      kid_type(exact_kid ? "BIGINT" : "UBIGINT") {
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

std::string EntityTables::LogColumnsDdl() const {
  return Join({KeysAndAttributesDdl(e), "_op VARCHAR", SequenceDdl(e, "_seq", ""),
               compact_seq ? "" : "_seq_key BLOB", "_arrival BIGINT", exact_kid ? "" : "_kid UBIGINT",
               "_scd1_hash UBIGINT, _scd2_hash UBIGINT"});
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
