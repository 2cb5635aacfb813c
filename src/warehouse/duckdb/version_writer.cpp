#include "warehouse/duckdb/version_writer.h"

#include <fmt/format.h>

#include "common/typed_value.h"

namespace dimstream::duck {
namespace {

// Not kIncrement (AddVersions' table), which a refold in the same run writes while the parts come in.
constexpr const char* kVersions = "dimstream_versions";
constexpr const char* kReplaced = "dimstream_replaced";
constexpr const char* kLatest = "dimstream_latest";

}  // namespace

void VersionWriter::AppendKid(Appender& app, const EntityTables& t, uint64_t key_id) {
  // A key's own id is its bits as a BIGINT; a hash is a UBIGINT.
  t.exact_kid ? app.Int64(static_cast<int64_t>(key_id)) : app.UInt64(key_id);
}

Status VersionWriter::WriteVersions(const std::vector<Version>& versions) {
  DIMSTREAM_TRY(CreateVersionsTable(kVersions));
  return AppendVersions(kVersions, versions);
}

Status VersionWriter::CreateVersionsTable(const char* table) {
  return conn_.Exec(fmt::format(
      "CREATE OR REPLACE TEMP TABLE {} (opened BIGINT, updated BIGINT, scd1 BIGINT, closed "
      "BIGINT, del BOOLEAN{})",
      table, t_.compact_seq ? fmt::format(", vf {0}, vt {0}", t_.e.sequence_type().SqlName()) : ""));
}

Status VersionWriter::AppendVersions(const char* table, std::span<const Version> versions) {
  const ColumnType seq = t_.e.sequence_type();
  ChunkAppender rows(conn_, "temp", table);
  DIMSTREAM_TRY(rows.status());
  for (const Version& v : versions) {
    rows.Int64(0, v.opened_arrival);
    rows.Int64(1, v.updated_arrival);
    rows.Int64(2, v.scd1_arrival);
    v.open() ? rows.Null(3) : rows.Int64(3, v.closed_arrival);
    rows.Bool(4, v.ended_by_delete);
    if (t_.compact_seq) {
      rows.Put(5, seq, DecodeOrdered(seq, v.valid_from));
      v.open() ? rows.Null(6) : rows.Put(6, seq, DecodeOrdered(seq, v.valid_to));
    }
    rows.EndRow();
  }
  return rows.Close();
}

Status VersionWriter::AddVersions(std::span<const Version> versions) {
  if (!increment_open_) {
    DIMSTREAM_TRY(CreateVersionsTable(kIncrement));
    increment_open_ = true;
  }
  return versions.empty() ? Ok() : AppendVersions(kIncrement, versions);
}

std::string VersionWriter::VersionRows(const char* versions, const std::string& src,
                                       const std::string& closers, bool history, bool replaced) const {
  // The key and SCD2 values of `updated`, the SCD1 values of `scd1`; valid_from and valid_to the versions'
  // own (compact) or the sequences of `opened` (or of the replaced version) and `closed` (in `closers`).
  bool all_versions = t_.e.scd1_scope == Scd1Scope::kAllVersions;
  std::string s1 = all_versions ? "s1" : "u";
  std::string valid_from;
  std::string valid_to;
  if (t_.compact_seq) {
    valid_from = "v.vf";
    valid_to = "v.vt";
  } else {
    std::vector<std::string> from;
    for (const auto& c : t_.seq) {
      from.push_back(replaced ? fmt::format("coalesce(rp.{0}, o.{0})", c) : "o." + c);
    }
    valid_from = EntityTables::Join(from);
    valid_to = EntityTables::Of("c", t_.seq);
  }
  std::vector<std::string> cols = {EntityTables::Of("u", t_.keys), EntityTables::Of(s1, t_.scd1),
                                   EntityTables::Of("u", t_.scd2), valid_from};
  if (history) {
    cols.push_back(valid_to);
    cols.push_back("v.closed IS NULL, v.del");
  }
  cols.push_back(fmt::format("v.opened, v.updated, {}._scd1_hash, u._scd2_hash", s1));
  if (!t_.exact_kid) {
    cols.push_back("u._kid");
  }
  std::string from = fmt::format("FROM {} v JOIN {} u ON u._arrival = v.updated", Temp(versions), src);
  if (all_versions) {
    from += fmt::format(" JOIN {} s1 ON s1._arrival = v.scd1", src);
  }
  if (!t_.compact_seq) {
    from += fmt::format(" LEFT JOIN {} o ON o._arrival = v.opened", src);
    if (replaced) {
      // Only rewritten versions have an old opener there (the others were opened by staged records).
      from += fmt::format(" LEFT JOIN {} rp ON rp.opened = v.opened", Temp(kReplaced));
    }
    if (history) {
      from += fmt::format(" LEFT JOIN {} c ON c._arrival = v.closed", closers);
    }
  }
  // With merge on read, history holds the closed versions only (entity_tables.h). Always a WHERE, which
  // Insert may add to.
  const char* which = !history           ? " WHERE v.closed IS NULL"
                      : t_.merge_on_read ? " WHERE v.closed IS NOT NULL"
                                         : " WHERE true";
  return fmt::format("SELECT {} {}{}", EntityTables::Join(cols), from, which);
}

Status VersionWriter::Insert(const char* versions, const std::string& src, const std::string& closers,
                             bool replaced, bool skip_rewritten) {
  std::string history = VersionRows(versions, src, closers, true, replaced);
  if (skip_rewritten) {
    // Their history rows were updated in place (RewriteInPlace).
    history += fmt::format(
        " AND NOT EXISTS (SELECT 1 FROM {} e WHERE e.opened = v.opened AND e.closed IS NULL)", Temp(kEdits));
  }
  DIMSTREAM_TRY(conn_.Exec(fmt::format("INSERT INTO {} ({}) {}", t_.history, t_.HistoryColumns(), history)));
  return conn_.Exec(fmt::format("INSERT INTO {} ({}) {}", t_.current, t_.CurrentColumns(),
                                VersionRows(versions, src, closers, false, replaced)));
}

Status VersionWriter::AppendFromLog(const std::vector<Version>& versions, const std::string& records) {
  DIMSTREAM_TRY(WriteVersions(versions));
  std::string closers = fmt::format("(SELECT _arrival, {0} FROM {1} UNION ALL SELECT _arrival, {0} FROM {2})",
                                    EntityTables::Of("", t_.seq), records, t_.truncates);
  return Insert(kVersions, records, closers, false, false);
}

Status VersionWriter::BaseRecords(const std::vector<Version>& base, const std::string& into) {
  DIMSTREAM_TRY(WriteVersions(base));
  // As log rows: key, SCD1, SCD2, then 'U', the opener's sequence and arrival.
  bool all_versions = t_.e.scd1_scope == Scd1Scope::kAllVersions;
  std::string s1 = all_versions ? "s1" : "u";
  std::string sequence = t_.compact_seq ? "v.vf AS _seq" : EntityTables::Of("o", t_.seq) + ", o._seq_key";
  std::string joins =
      fmt::format("JOIN {0} u ON u._arrival = v.updated{1}{2}", t_.log,
                  t_.compact_seq ? "" : fmt::format(" JOIN {} o ON o._arrival = v.opened", t_.log),
                  all_versions ? fmt::format(" JOIN {} s1 ON s1._arrival = v.scd1", t_.log) : "");
  return conn_.Exec(fmt::format(
      "CREATE OR REPLACE TEMP TABLE {} AS SELECT {} FROM {} v {}", into,
      EntityTables::Join({EntityTables::Of("u", t_.keys), EntityTables::Of(s1, t_.scd1),
                          EntityTables::Of("u", t_.scd2), "'U' AS _op", sequence, "v.opened AS _arrival",
                          t_.exact_kid ? "" : "u._kid", fmt::format("{}._scd1_hash, u._scd2_hash", s1)}),
      Temp(kVersions), joins));
}

Status VersionWriter::AddEdits(std::span<const OpenVersionEdit> edits) {
  if (!edits_open_) {
    DIMSTREAM_TRY(conn_.Exec(fmt::format(
        "CREATE OR REPLACE TEMP TABLE {} (kid {}, opened BIGINT, ref BIGINT, closed BIGINT, del BOOLEAN)",
        kEdits, t_.kid_type)));
    edits_open_ = true;
    closes_ = 0;
    rewrites_ = 0;
  }
  if (edits.empty()) {
    return Ok();
  }
  // Whole data chunks: a run hands over as many edits as versions.
  ChunkAppender rows(conn_, "temp", kEdits);
  DIMSTREAM_TRY(rows.status());
  for (const OpenVersionEdit& e : edits) {
    t_.exact_kid ? rows.Int64(0, static_cast<int64_t>(e.key_id)) : rows.UInt64(0, e.key_id);
    rows.Int64(1, e.opened_arrival);
    rows.Int64(2, e.ref_arrival);
    e.closed_arrival != 0 ? rows.Int64(3, e.closed_arrival) : rows.Null(3);
    rows.Bool(4, e.by_delete);
    rows.EndRow();
    (e.closed_arrival != 0 ? closes_ : rewrites_)++;
  }
  return rows.Close();
}

Status VersionWriter::CloseParts() {
  // The tables, if the run had no versions or no edits.
  DIMSTREAM_TRY(AddVersions({}));
  DIMSTREAM_TRY(AddEdits({}));
  increment_open_ = false;
  edits_open_ = false;
  return Ok();
}

Result<std::vector<uint64_t>> VersionWriter::ApplyIncrement(bool rewrite_in_place) {
  DIMSTREAM_TRY(CloseParts());
  const size_t closes = closes_;
  const size_t rewrites = rewrites_;
  const std::string edits_table = Temp(kEdits);
  const std::string kid = t_.KidOf(t_.history);
  // The key columns a history row must have: those of a staged record of the key (where key ids are hashes).
  const std::string ref_join = t_.exact_kid ? "" : fmt::format(" JOIN {} r ON r._arrival = e.ref", t_.stage);
  const std::string same_key = t_.AndSameKey(t_.history, "r");
  idx_t matched_closes = 0;
  idx_t matched_rewrites = 0;
  if (closes > 0) {
    std::string set;
    for (size_t i = 0; i < t_.seq.size(); ++i) {
      set += fmt::format(", {} = c.{}", t_.valid_to[i], t_.seq[i]);
    }
    auto n =
        conn_.Changed(fmt::format("UPDATE {0} SET is_current = false, _ended_by_delete = e.del{1} FROM {2} e "
                                  "JOIN {3} c ON c._arrival = "
                                  "e.closed{4} WHERE {5} = e.kid AND {0}._opened_arrival = e.opened{6}",
                                  t_.history, set, edits_table, t_.stage, ref_join, kid, same_key));
    if (!n.ok()) {
      return n.error();
    }
    matched_closes = *n;
  }
  bool replaced = false;
  if (rewrites > 0) {
    if (!t_.compact_seq) {
      // A rewritten version keeps its valid_from: read it from current before its row goes.
      std::string valid_from;
      for (size_t i = 0; i < t_.seq.size(); ++i) {
        valid_from += fmt::format(", cur.{} AS {}", t_.valid_from[i], t_.seq[i]);
      }
      DIMSTREAM_TRY(
          conn_.Exec(fmt::format("CREATE OR REPLACE TEMP TABLE {} AS SELECT cur._opened_arrival AS opened{} "
                                 "FROM {} cur JOIN {} e ON {} = "
                                 "e.kid AND cur._opened_arrival = e.opened WHERE e.closed IS NULL",
                                 kReplaced, valid_from, t_.current, edits_table, t_.KidOf("cur"))));
      replaced = true;
    }
    auto n = conn_.Changed(
        rewrite_in_place
            ? RewriteInPlace(ref_join, same_key)
            : fmt::format("DELETE FROM {0} USING {1} e{2} WHERE e.closed IS NULL AND {3} = e.kid AND "
                          "{0}._opened_arrival = e.opened{4}",
                          t_.history, edits_table, ref_join, kid, same_key));
    if (!n.ok()) {
      return n.error();
    }
    matched_rewrites = *n;
  }
  if (matched_closes != closes || matched_rewrites != rewrites) {
    return Mismatched(ref_join, closes - matched_closes + rewrites - matched_rewrites, rewrite_in_place);
  }
  if (closes + rewrites > 0) {
    DIMSTREAM_TRY(conn_.Exec(
        fmt::format("DELETE FROM {0} USING {1} e WHERE {2} = e.kid AND {0}._opened_arrival = e.opened",
                    t_.current, edits_table, t_.KidOf(t_.current))));
  }
  DIMSTREAM_TRY(
      Insert(kIncrement, t_.stage, t_.stage, replaced, /*skip_rewritten=*/rewrite_in_place && rewrites > 0));
  return std::vector<uint64_t>{};
}

std::string VersionWriter::RewriteInPlace(const std::string& ref_join, const std::string& same_key) const {
  // The key, SCD2 values and valid_from of a rewritten version stay as they are.
  std::string set;
  for (const auto& c : t_.scd1) {
    set += fmt::format("{0} = s1.{0}, ", c);
  }
  for (size_t i = 0; i < t_.valid_to.size(); ++i) {
    set += fmt::format("{} = {}, ", t_.valid_to[i], t_.compact_seq ? "v.vt" : "c." + t_.seq[i]);
  }
  std::string closers =
      t_.compact_seq ? "" : fmt::format(" LEFT JOIN {} c ON c._arrival = v.closed", t_.stage);
  return fmt::format(
      "UPDATE {0} SET {1}is_current = v.closed IS NULL, _ended_by_delete = v.del, "
      "_updated_arrival = v.updated, _scd1_hash = s1._scd1_hash "
      "FROM {2} e JOIN {3} v ON v.opened = e.opened JOIN {4} s1 ON s1._arrival = v.scd1{5}{6} "
      "WHERE e.closed IS NULL AND {7} = e.kid AND {0}._opened_arrival = e.opened{8}",
      t_.history, set, Temp(kEdits), Temp(kIncrement), t_.stage, closers, ref_join, t_.KidOf(t_.history),
      same_key);
}

Result<std::vector<uint64_t>> VersionWriter::Mismatched(const std::string& ref_join, size_t missing,
                                                        bool rewrite_in_place) {
  std::vector<uint64_t> out;
  if (t_.exact_kid) {
    return Error::Permanent(fmt::format(
        "{} edits of open versions found no history row (the key index disagrees with {}); the run is rolled "
        "back and the index read again",
        missing, t_.e.history_table()));
  }
  // A close that did not happen, or a rewrite in place, found no history row of its key; a rewrite by
  // DELETE that did not happen left its row.
  QueryResultHandle r;
  DIMSTREAM_TRY(
      conn_.Run(fmt::format("SELECT DISTINCT e.kid FROM {0} e "
                            "WHERE ((e.closed IS NOT NULL OR {4}) AND NOT EXISTS (SELECT 1 FROM {1} h{2} "
                            "WHERE h._kid = e.kid AND h._opened_arrival = e.opened{3})) "
                            "OR (e.closed IS NULL AND NOT {4} AND EXISTS (SELECT 1 FROM {1} h "
                            "WHERE h._kid = e.kid AND h._opened_arrival = e.opened))",
                            Temp(kEdits), t_.history, ref_join, t_.AndSameKey("h", "r"),
                            rewrite_in_place ? "true" : "false"),
                {}, &r));
  ChunkReader reader(r.get());
  reader.ForEach([&](idx_t row) { out.push_back(reader.GetUInt64(0, row)); });
  if (out.empty()) {
    return Error::Permanent(fmt::format("{} edits of open versions found no history row", missing));
  }
  return out;
}

Status VersionWriter::SetScd1OfAllVersions(const std::vector<std::pair<uint64_t, int64_t>>& latest,
                                           bool in_stage) {
  if (t_.scd1.empty()) {
    return Ok();
  }
  DIMSTREAM_TRY(conn_.Exec(
      fmt::format("CREATE OR REPLACE TEMP TABLE {} (kid {}, arrival BIGINT)", kLatest, t_.kid_type)));
  {
    Appender app(conn_, "temp", kLatest);
    for (const auto& [key_id, arrival] : latest) {
      AppendKid(app, t_, key_id);
      app.Int64(arrival);
      app.EndRow();
    }
    DIMSTREAM_TRY(app.Close());
  }
  std::string set;
  for (const auto& c : t_.scd1) {
    set += fmt::format("{} = s.{}, ", c, c);
  }
  return conn_.Exec(
      fmt::format("UPDATE {0} SET {1}_scd1_hash = s._scd1_hash FROM {2} t JOIN {3} s ON s._arrival = "
                  "t.arrival WHERE {4} = t.kid "
                  "AND {5} AND {0}._scd1_hash IS DISTINCT FROM s._scd1_hash",
                  t_.history, set, Temp(kLatest), in_stage ? t_.stage : t_.log, t_.KidOf(t_.history),
                  t_.KeysEqual(t_.history, "s")));
}

}  // namespace dimstream::duck
