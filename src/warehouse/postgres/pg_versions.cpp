#include "warehouse/postgres/pg_versions.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/clock.h"
#include "warehouse/postgres/pg_merge_log.h"
#include "warehouse/postgres/pg_merge_session.h"
#include "warehouse/postgres/pg_stage.h"
#include "warehouse/postgres/pg_values.h"
#include "warehouse/sql.h"

namespace dimstream::pg {
namespace {

// Temporary tables of a merge run, dropped with its transaction.
constexpr const char* kVersions = "dimstream_versions";    // a refold's versions, or the base records'
constexpr const char* kIncrement = "dimstream_increment";  // AddVersions'
constexpr const char* kEdits = "dimstream_edits";
constexpr const char* kLatest = "dimstream_latest";

// The columns of history and current after the values and the sequence's.
constexpr const char* kOwnColumns =
    "_opened_arrival, _updated_arrival, _scd1_hash, _scd2_hash, _kid, _valid_from_key";

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) {
    if (!p.empty()) {
      out += (out.empty() ? "" : ", ") + p;
    }
  }
  return out;
}

// "valid_from, valid_from_b" (or valid_to): the sequence's columns in history and current.
std::vector<std::string> ValidColumns(const EntitySpec& e, const char* prefix) {
  std::vector<std::string> out = {prefix};
  for (const std::string& c : e.extra_sequence_columns()) {
    out.push_back(std::string(prefix) + "_" + c);
  }
  return out;
}

}  // namespace

Status EnsureVersionTables(PgConnection& conn, const EntitySpec& e) {
  std::string values;
  for (const std::string& c : e.key_columns) {
    values += fmt::format("{} {}, ", QuoteIdent(c), PgTypeName(e.TypeOf(c)));
  }
  for (const std::string& c : e.attribute_columns()) {
    values += fmt::format("{} {}, ", QuoteIdent(c), PgTypeName(e.TypeOf(c)));
  }
  auto sequence = [&](const char* prefix) {
    std::string out = fmt::format("{} {}, ", prefix, PgTypeName(e.sequence_type()));
    for (const std::string& c : e.extra_sequence_columns()) {
      out += fmt::format("{} {}, ", QuoteIdent(std::string(prefix) + "_" + c), PgTypeName(e.TypeOf(c)));
    }
    return out;
  };
  // _valid_from_key: valid_from's ordered encoding, what the merge's key index compares.
  const std::string own =
      "_opened_arrival BIGINT NOT NULL, _updated_arrival BIGINT, _scd1_hash BIGINT, _scd2_hash BIGINT, _kid "
      "BIGINT NOT NULL, _valid_from_key BYTEA";
  DIMSTREAM_TRY(conn.Run(
      // Room in each page for the new row versions of a run's UPDATEs (closes, SCD1 rewrites): as the index's
      // columns stay, they are heap-only tuples, and the index is not touched.
      fmt::format("CREATE TABLE IF NOT EXISTS {} ({}{}{}is_current BOOLEAN NOT NULL, "
                  "_ended_by_delete BOOLEAN NOT NULL, {}) WITH (fillfactor = 80)",
                  QuoteIdent(e.history_table()), values, sequence("valid_from"), sequence("valid_to"), own),
      {}, "create " + e.history_table()));
  // current is history's open versions: a run writes each version once, and the two cannot disagree. A
  // database made when current was a table of its own gets the view (history holds every row it held).
  auto kind = conn.Exec("SELECT relkind FROM pg_class WHERE oid = to_regclass($1)",
                        {QuoteIdent(e.current_table())}, "look for " + e.current_table());
  if (!kind.ok()) {
    return kind.error();
  }
  if (kind->rows() > 0 && kind->Text(0, 0) == "r") {
    DIMSTREAM_TRY(conn.Run(fmt::format("DROP TABLE {}", QuoteIdent(e.current_table())), {},
                           "replace the table " + e.current_table() + " by a view"));
  }
  DIMSTREAM_TRY(conn.Run(
      fmt::format("CREATE OR REPLACE VIEW {} AS SELECT {}, {}, {} FROM {} WHERE is_current",
                  QuoteIdent(e.current_table()),
                  Join({IdentList(e.key_columns), IdentList(e.attribute_columns())}),
                  IdentList(ValidColumns(e, "valid_from")), kOwnColumns, QuoteIdent(e.history_table())),
      {}, "create the view " + e.current_table()));
  // A run finds the versions of its keys, and each edited version by its opener.
  return conn.Run(fmt::format("CREATE INDEX IF NOT EXISTS {} ON {} (_kid, _opened_arrival)",
                              QuoteIdent(e.history_table() + "_kid"), QuoteIdent(e.history_table())),
                  {}, "index " + e.history_table());
}

PgVersionWriter::PgVersionWriter(PgConnection& conn, const EntitySpec& entity)
    : conn_(conn),
      e_(entity),
      log_(QuoteIdent(entity.log_table())),
      truncates_(QuoteIdent(entity.truncates_table())),
      history_(QuoteIdent(entity.history_table())) {
  for (const std::string& c : entity.extra_sequence_columns()) {
    extra_seq_.push_back(QuoteIdent(c));
  }
}

std::string PgVersionWriter::LogColumns() const {
  return Join({IdentList(e_.input_columns()),
               "_load_ref, _line, _op, _kid, _seq_key, _scd1_hash, _scd2_hash, _arrival, _loaded_at, "
               "_object_key, _seq"});
}

Status PgVersionWriter::WriteVersions(const char* table, std::span<const Version> versions, bool create) {
  if (create) {
    DIMSTREAM_TRY(conn_.Run(fmt::format("DROP TABLE IF EXISTS {}", table)));
    DIMSTREAM_TRY(conn_.Run(fmt::format("CREATE TEMP TABLE {} (opened BIGINT, updated BIGINT, scd1 BIGINT, "
                                        "closed BIGINT, del BOOLEAN) ON COMMIT DROP",
                                        table),
                            {}, "create the run's versions table"));
  }
  if (versions.empty()) {
    return Ok();
  }
  std::string data;
  data.reserve(versions.size() * 64);
  for (const Version& v : versions) {
    data += fmt::format("{}\t{}\t{}\t", v.opened_arrival, v.updated_arrival, v.scd1_arrival);
    data += v.open() ? std::string("\\N") : std::to_string(v.closed_arrival);
    data += v.ended_by_delete ? "\tt\n" : "\tf\n";
  }
  auto copied = conn_.CopyIn(fmt::format("COPY {} FROM STDIN", table), data, "copy the run's versions");
  return copied.ok() ? Ok() : Status(copied.error());
}

std::string PgVersionWriter::VersionRows(const char* versions, const std::string& records,
                                         const std::string& closers) const {
  // The key and SCD2 values of `updated`, the SCD1 values of `scd1`, valid_from the sequence of `opened`,
  // valid_to that of `closed`.
  const bool all_versions = e_.scd1_scope == Scd1Scope::kAllVersions;
  const std::string s1 = all_versions ? "s1" : "u";
  std::vector<std::string> cols = {IdentList(e_.key_columns, "u."), IdentList(e_.scd1_columns, s1 + "."),
                                   IdentList(e_.scd2_columns, "u."), "o._seq"};
  for (const std::string& c : extra_seq_) {
    cols.push_back("o." + c);
  }
  cols.push_back("c._seq");
  for (const std::string& c : extra_seq_) {
    cols.push_back("c." + c);
  }
  cols.push_back("v.closed IS NULL, coalesce(v.del, false)");
  cols.push_back(fmt::format("v.opened, v.updated, {}._scd1_hash, u._scd2_hash, u._kid, o._seq_key", s1));
  std::string sql =
      fmt::format("SELECT {} FROM {} v JOIN {} u ON u._arrival = v.updated", Join(cols), versions, records);
  if (all_versions) {
    sql += fmt::format(" JOIN {} s1 ON s1._arrival = v.scd1", records);
  }
  return sql + fmt::format(" LEFT JOIN {} o ON o._arrival = v.opened LEFT JOIN {} c ON c._arrival = v.closed",
                           records, closers);
}

Status PgVersionWriter::Insert(const char* versions, const std::string& records, const std::string& closers,
                               const std::string& where) {
  const std::string values = Join({IdentList(e_.key_columns), IdentList(e_.attribute_columns()),
                                   IdentList(ValidColumns(e_, "valid_from"))});
  return conn_.Run(fmt::format("INSERT INTO {} ({}, {}, is_current, _ended_by_delete, {}) {}{}", history_,
                               values, IdentList(ValidColumns(e_, "valid_to")), kOwnColumns,
                               VersionRows(versions, records, closers), where),
                   {}, "write the versions into " + e_.history_table());
}

Status PgVersionWriter::AppendFromLog(const std::vector<Version>& versions) {
  DIMSTREAM_TRY(WriteVersions(kVersions, versions, true));
  DIMSTREAM_TRY(PrepareTemp(conn_, kVersions, "opened", /*unique=*/false));
  const std::string seq = Join({"_seq", Join(extra_seq_)});
  const std::string closers = fmt::format(
      "(SELECT _arrival, {0} FROM {1} UNION ALL SELECT _arrival, {0} FROM {2})", seq, log_, truncates_);
  return Insert(kVersions, log_, closers, "");
}

Status PgVersionWriter::BaseRecords(const std::vector<Version>& base, const char* into) {
  DIMSTREAM_TRY(WriteVersions(kVersions, base, true));
  // A log row: the version's key, SCD1 and SCD2 values, its opener's sequence (columns, encoding, value)
  // and arrival.
  const bool all_versions = e_.scd1_scope == Scd1Scope::kAllVersions;
  std::vector<std::string> cols;
  for (const std::string& c : e_.input_columns()) {
    bool scd1 = std::find(e_.scd1_columns.begin(), e_.scd1_columns.end(), c) != e_.scd1_columns.end();
    bool seq =
        std::find(e_.sequence_columns.begin(), e_.sequence_columns.end(), c) != e_.sequence_columns.end();
    cols.push_back(fmt::format("{}.{}", seq ? "o" : scd1 && all_versions ? "s1" : "u", QuoteIdent(c)));
  }
  cols.push_back(fmt::format(
      "o._load_ref, o._line, 'U', u._kid, o._seq_key, {}._scd1_hash, u._scd2_hash, v.opened, o._loaded_at, "
      "o._object_key, o._seq",
      all_versions ? "s1" : "u"));
  DIMSTREAM_TRY(conn_.Run(fmt::format("DROP TABLE IF EXISTS {}", into)));
  return conn_.Run(
      fmt::format("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} v JOIN {} u ON u._arrival = "
                  "v.updated JOIN {} o ON o._arrival = v.opened{}",
                  into, Join(cols), kVersions, log_, log_,
                  all_versions ? fmt::format(" JOIN {} s1 ON s1._arrival = v.scd1", log_) : ""),
      {}, "make the log's base records");
}

Status PgVersionWriter::AddVersions(std::span<const Version> versions) {
  DIMSTREAM_TRY(WriteVersions(kIncrement, versions, !increment_open_));
  increment_open_ = true;
  return Ok();
}

Status PgVersionWriter::AddEdits(std::span<const OpenVersionEdit> edits) {
  if (!edits_open_) {
    DIMSTREAM_TRY(conn_.Run(fmt::format("DROP TABLE IF EXISTS {}", kEdits)));
    DIMSTREAM_TRY(conn_.Run(fmt::format("CREATE TEMP TABLE {} (kid BIGINT, opened BIGINT, ref BIGINT, closed "
                                        "BIGINT, del BOOLEAN) ON COMMIT DROP",
                                        kEdits),
                            {}, "create the run's edits table"));
    edits_open_ = true;
    closes_ = 0;
    rewrites_ = 0;
  }
  if (edits.empty()) {
    return Ok();
  }
  std::string data;
  for (const OpenVersionEdit& e : edits) {
    data += fmt::format("{}\t{}\t{}\t", static_cast<int64_t>(e.key_id), e.opened_arrival, e.ref_arrival);
    data += e.closed_arrival != 0 ? std::to_string(e.closed_arrival) : std::string("\\N");
    data += e.by_delete ? "\tt\n" : "\tf\n";
    (e.closed_arrival != 0 ? closes_ : rewrites_)++;
  }
  auto copied = conn_.CopyIn(fmt::format("COPY {} FROM STDIN", kEdits), data, "copy the run's edits");
  return copied.ok() ? Ok() : Status(copied.error());
}

Result<std::vector<uint64_t>> PgVersionWriter::Mismatched() {
  // The history row must have the key of the edit's ref record.
  auto r = conn_.Exec(fmt::format("SELECT DISTINCT e.kid FROM {} e JOIN {} r ON r._arrival = e.ref WHERE NOT "
                                  "EXISTS (SELECT 1 FROM {} h WHERE h._kid = e.kid AND h._opened_arrival = "
                                  "e.opened{})",
                                  kEdits, kStageTable, history_, AndSameKey(e_, "h", "r")),
                      {}, "check the run's edits against " + e_.history_table());
  if (!r.ok()) {
    return r.error();
  }
  std::vector<uint64_t> out;
  for (int i = 0; i < r->rows(); ++i) {
    out.push_back(static_cast<uint64_t>(r->Int(i, 0)));
  }
  return out;
}

Status PgVersionWriter::Edit(const std::string& sql, size_t expected, const std::string& what) {
  auto r = conn_.Exec(sql, {}, what);
  if (!r.ok()) {
    return r.error();
  }
  // Where the key is its own id, an edit that finds no row means the key index disagrees with history
  // (Mismatched() looks for the rows first where key ids are hashes).
  if (r->Affected() != expected) {
    return Error::Permanent(fmt::format(
        "{} of {} edits of open versions found their row in {} (the key index disagrees with it); the run is "
        "rolled back and the index read again",
        r->Affected(), expected, e_.history_table()));
  }
  return Ok();
}

Result<std::vector<uint64_t>> PgVersionWriter::ApplyIncrement() {
  DIMSTREAM_TRY(AddVersions({}));
  DIMSTREAM_TRY(AddEdits({}));
  increment_open_ = false;
  edits_open_ = false;
  DIMSTREAM_TRY(PrepareTemp(conn_, kIncrement, "opened", /*unique=*/false));
  if (closes_ + rewrites_ > 0) {  // no statement reads the edits otherwise
    DIMSTREAM_TRY(PrepareTemp(conn_, kEdits, "opened", /*unique=*/false));
  }
  if (closes_ + rewrites_ > 0 && !e_.exact_key_id()) {
    // Before anything changes: an edit that finds no row of its key means the caller rolls back.
    auto mismatched = Mismatched();
    if (!mismatched.ok() || !mismatched->empty()) {
      return mismatched;
    }
  }
  if (closes_ + rewrites_ > 0) {
    // One UPDATE (one pass over history's rows of the edited keys) for both kinds of edit. A close sets
    // valid_to and the flags; a version rewritten in place (the fold's first version of its key, opened by
    // the edited one's opener) keeps its row, its valid_from and its opener, and takes the new version's
    // values, valid_to and flags. c is the record that closes it, if any. A rewrite without its version is
    // not done, and the row count then says so.
    const bool all_versions = e_.scd1_scope == Scd1Scope::kAllVersions;
    const std::string s1 = all_versions ? "s1" : "u";
    auto rewritten = [](const std::string& column, const std::string& value) {
      return fmt::format("{0} = CASE WHEN e.closed IS NULL THEN {1} ELSE h.{0} END, ", column, value);
    };
    std::string set;
    for (const std::string& c : e_.scd1_columns) {
      set += rewritten(QuoteIdent(c), s1 + "." + QuoteIdent(c));
    }
    for (const std::string& c : e_.scd2_columns) {
      set += rewritten(QuoteIdent(c), "u." + QuoteIdent(c));
    }
    set += "valid_to = c._seq, ";
    for (size_t i = 0; i < extra_seq_.size(); ++i) {
      set +=
          fmt::format("{} = c.{}, ", QuoteIdent("valid_to_" + e_.extra_sequence_columns()[i]), extra_seq_[i]);
    }
    set += rewritten("_updated_arrival", "v.updated") + rewritten("_scd1_hash", s1 + "._scd1_hash") +
           rewritten("_scd2_hash", "u._scd2_hash");
    set +=
        "is_current = e.closed IS NULL AND v.closed IS NULL, _ended_by_delete = CASE WHEN e.closed IS NULL "
        "THEN coalesce(v.del, false) ELSE e.del END";
    DIMSTREAM_TRY(Edit(
        fmt::format(
            "UPDATE {0} h SET {1} FROM {2} e LEFT JOIN {3} v ON e.closed IS NULL AND v.opened = e.opened "
            "LEFT JOIN {4} u ON u._arrival = v.updated{5} LEFT JOIN {4} c ON c._arrival = "
            "coalesce(e.closed, v.closed) WHERE h._kid = e.kid AND h._opened_arrival = e.opened AND "
            "(e.closed IS NOT NULL OR v.opened IS NOT NULL)",
            history_, set, kEdits, kIncrement, kStageTable,
            all_versions ? fmt::format(" LEFT JOIN {} s1 ON s1._arrival = v.scd1", kStageTable) : ""),
        closes_ + rewrites_, "close and rewrite versions in " + e_.history_table()));
  }
  // Every other version is new: opened by a staged record.
  DIMSTREAM_TRY(
      Insert(kIncrement, kStageTable, kStageTable,
             rewrites_ > 0
                 ? fmt::format(" WHERE v.opened NOT IN (SELECT opened FROM {} WHERE closed IS NULL)", kEdits)
                 : ""));
  return std::vector<uint64_t>{};
}

Status PgVersionWriter::SetScd1OfAllVersions(const std::vector<std::pair<uint64_t, int64_t>>& latest,
                                             bool in_stage) {
  if (e_.scd1_columns.empty()) {
    return Ok();
  }
  DIMSTREAM_TRY(conn_.Run(fmt::format("DROP TABLE IF EXISTS {}", kLatest)));
  DIMSTREAM_TRY(
      conn_.Run(fmt::format("CREATE TEMP TABLE {} (kid BIGINT, arrival BIGINT) ON COMMIT DROP", kLatest)));
  std::string data;
  for (const auto& [key_id, arrival] : latest) {
    data += fmt::format("{}\t{}\n", static_cast<int64_t>(key_id), arrival);
  }
  auto copied = conn_.CopyIn(fmt::format("COPY {} FROM STDIN", kLatest), data, "copy the latest upserts");
  if (!copied.ok()) {
    return copied.error();
  }
  std::string set;
  for (const std::string& c : e_.scd1_columns) {
    set += fmt::format("{0} = s.{0}, ", QuoteIdent(c));
  }
  return conn_.Run(
      fmt::format("UPDATE {0} h SET {1}_scd1_hash = s._scd1_hash FROM {2} t JOIN {3} s ON s._arrival = "
                  "t.arrival WHERE h._kid = t.kid{4} AND h._scd1_hash IS DISTINCT FROM s._scd1_hash",
                  history_, set, kLatest, in_stage ? std::string(kStageTable) : log_,
                  AndSameKey(e_, "h", "s")),
      {}, "give every version its key's latest SCD1 values");
}

}  // namespace dimstream::pg
