#include "warehouse/duckdb/duckdb_merge_session.h"

#include <fmt/format.h>

#include "common/clock.h"
#include "common/fault.h"
#include "common/typed_value.h"
#include "warehouse/sql.h"

namespace dimstream::duck {
namespace {

constexpr const char* kLoadHistory = "load_history";
constexpr const char* kParameterControl = "parameter_control";
constexpr const char* kTaskHistory = "task_history";
constexpr const char* kWatermarkName = "LETS";
// Temporary tables of a merge session (its connection's own).
constexpr const char* kListedKeys = "dimstream_listed_keys";
constexpr const char* kEdits = "dimstream_edits";
constexpr const char* kVersions = "dimstream_versions";
constexpr const char* kReplaced = "dimstream_replaced";
constexpr const char* kLatest = "dimstream_latest";
constexpr const char* kSource = "dimstream_source";
constexpr const char* kBase = "dimstream_base";

std::string Temp(const char* name) {
  return std::string("temp.") + name;
}

Operation OpOf(std::string_view op) {
  return op == "D" ? Operation::kDelete : op == "T" ? Operation::kTruncate : Operation::kUpsert;
}

class DuckDbMergeSession : public MergeSession {
 public:
  DuckDbMergeSession(Connected c, DatabaseKeeper& keeper, const EntityTables& t)
      : c_(std::move(c)), conn_(*c_.conn), keeper_(keeper), t_(t), e_(t.e) {}
  ~DuckDbMergeSession() override {
    if (open_) {
      (void)conn_.Exec("ROLLBACK");
    }
  }

  Status Begin() {
    DIMSTREAM_TRY(conn_.Exec("BEGIN TRANSACTION"));
    open_ = true;
    return Ok();
  }

  Result<std::optional<int64_t>> ReadParameter(const std::string& name) override {
    return conn_.ScalarInt(
        fmt::format(
            "SELECT CAST(parameter_value AS BIGINT) FROM {} WHERE job_name = $1 AND parameter_name = $2",
            QuoteIdent(kParameterControl)),
        {e_.merge_job(), name});
  }

  Status WriteParameter(const std::string& name, int64_t value) override {
    DIMSTREAM_TRY(conn_.Run(fmt::format("DELETE FROM {} WHERE job_name = $1 AND parameter_name = $2",
                                        QuoteIdent(kParameterControl)),
                            {e_.merge_job(), name}));
    return conn_.Run(fmt::format("INSERT INTO {} VALUES ($1, $2, $3, $4)", QuoteIdent(kParameterControl)),
                     {e_.merge_job(), name, std::to_string(value), Timestamp{NowMicros()}});
  }

  Result<StageResult> Stage(int64_t watermark) override {
    StageResult r;
    DIMSTREAM_TRY(conn_.Exec("DELETE FROM " + t_.stage));
    QueryResultHandle counts;
    DIMSTREAM_TRY(conn_.Run(
        fmt::format(
            "SELECT count(*), coalesce(max(_arrival), $1), coalesce(epoch_us(max(_loaded_at)), 0) FROM {} "
            "WHERE _arrival > $1",
            t_.raw),
        {watermark}, &counts));
    ChunkReader reader(counts.get());
    reader.ForEach([&](idx_t row) {
      r.rows_in = static_cast<uint64_t>(reader.GetInt64(0, row));
      r.new_watermark = reader.GetInt64(1, row);
      r.newest_loaded_at = reader.GetInt64(2, row);
    });
    if (r.rows_in == 0) {
      return r;
    }
    // A later arrival with the same key and sequence supersedes an earlier one (SEMANTICS.md section 4); a
    // truncate has no key, so truncates supersede each other by sequence. Arrivals are unique, so the
    // winners are the maximum arrival of each group; a grouped semi-join finds them several times faster
    // than a window function.
    // By the typed sequence columns rather than _seq_key: the same groups (the encoding is one to one),
    // cheaper.
    std::string group = e_.exact_key_id() ? "_kid" : EntityTables::Of("", t_.keys);  // a truncate's are NULL
    DIMSTREAM_TRY(
        conn_.Run(fmt::format("INSERT INTO {0} SELECT * FROM {1} WHERE _arrival > $1 AND _arrival IN "
                              "(SELECT max(_arrival) FROM {1} WHERE _arrival > $1 GROUP BY {2}, {3})",
                              t_.stage, t_.raw, group, EntityTables::Of("", t_.seq)),
                  {watermark}));
    auto staged = conn_.ScalarInt("SELECT count(*) FROM " + t_.stage);
    if (!staged.ok()) {
      return staged.error();
    }
    r.rows_staged = static_cast<uint64_t>(staged->value_or(0));
    return r;
  }

  Result<uint64_t> RejectStagedBefore(Micros horizon, const std::string& reason) override {
    auto late = conn_.ScalarInt(fmt::format("SELECT count(*) FROM {} WHERE _seq < $1", t_.stage),
                                {Timestamp{horizon}});
    if (!late.ok()) {
      return late.error();
    }
    if (late->value_or(0) == 0) {
      return uint64_t{0};
    }
    // The raw text is gone once loaded; the values, comma-separated, say which record it was.
    std::string values;
    for (const auto& c : e_.input_columns()) {
      values += (values.empty() ? "" : " || ',' || ") +
                fmt::format("coalesce(CAST({} AS VARCHAR), '')", QuoteIdent(c));
    }
    DIMSTREAM_TRY(
        conn_.Run(fmt::format("INSERT INTO {} SELECT _object_key, _line, {}, $1, _load_id, $2 FROM {} WHERE "
                              "_seq < $3",
                              t_.rejects, values, t_.stage),
                  {reason, Timestamp{NowMicros()}, Timestamp{horizon}}));
    DIMSTREAM_TRY(
        conn_.Run(fmt::format("UPDATE {0} SET rows_loaded = rows_loaded - r.n, rows_rejected = "
                              "rows_rejected + r.n FROM (SELECT _load_id, count(*) AS n FROM {1} WHERE _seq "
                              "< $1 GROUP BY _load_id) r WHERE {0}.load_id = r._load_id",
                              QuoteIdent(kLoadHistory), t_.stage),
                  {Timestamp{horizon}}));
    DIMSTREAM_TRY(conn_.Run(fmt::format("DELETE FROM {} WHERE _seq < $1", t_.stage), {Timestamp{horizon}}));
    return static_cast<uint64_t>(**late);
  }

  // Reads records from a query whose columns are _kid, key ordinal, _seq_key, _arrival, _op, _scd1_hash,
  // _scd2_hash.
  Status ReadRecords(const std::string& sql, const std::vector<Param>& params,
                     const std::function<void(MergeRecord&&)>& sink, bool stream = false) {
    QueryResultHandle r;
    DIMSTREAM_TRY(stream ? conn_.Stream(sql, params, &r) : conn_.Run(sql, params, &r));
    ChunkReader reader(r.get());
    reader.ForEach([&](idx_t row) {
      MergeRecord rec;
      rec.key_id = reader.IsNull(0, row) ? 0 : reader.GetUInt64(0, row);
      rec.key_ord = static_cast<uint32_t>(reader.GetInt64(1, row));
      rec.seq = std::string(reader.GetText(2, row));
      rec.arrival = reader.GetInt64(3, row);
      rec.op = OpOf(reader.GetText(4, row));
      rec.scd1_hash = reader.IsNull(5, row) ? 0 : reader.GetUInt64(5, row);
      rec.scd2_hash = reader.IsNull(6, row) ? 0 : reader.GetUInt64(6, row);
      sink(std::move(rec));
    });
    return Ok();
  }

  Status ReadStage(const std::function<void(const MergeRecord&)>& sink) override {
    // Ordered by the typed sequence columns: the order of _seq_key (the encoding keeps it), cheaper to sort.
    return ReadRecords(
        fmt::format("SELECT _kid, 0::BIGINT, _seq_key, _arrival, _op, _scd1_hash, _scd2_hash FROM {} "
                    "WHERE _op <> 'T' ORDER BY _kid, {}, _arrival",
                    t_.stage, EntityTables::Of("", t_.seq)),
        {}, [&](MergeRecord&& r) { sink(r); });
  }

  Status ReadStagedTruncates(const std::function<void(const MergeRecord&)>& sink) override {
    return ReadRecords(fmt::format("SELECT NULL::UBIGINT, 0::BIGINT, _seq_key, _arrival, 'T', NULL::UBIGINT, "
                                   "NULL::UBIGINT FROM {} WHERE _op = 'T' ORDER BY _seq_key, _arrival",
                                   t_.stage),
                       {}, [&](MergeRecord&& r) { sink(r); });
  }

  Status ReadTruncates(const std::function<void(const MergeRecord&)>& sink) override {
    return ReadRecords(fmt::format("SELECT NULL::UBIGINT, 0::BIGINT, _seq_key, _arrival, 'T', NULL::UBIGINT, "
                                   "NULL::UBIGINT FROM {} ORDER BY _seq_key, _arrival",
                                   t_.truncates),
                       {}, [&](MergeRecord&& r) { sink(r); });
  }

  Result<std::vector<uint64_t>> StagedKeyIdsOfSeveralKeys() override {
    std::vector<uint64_t> out;
    if (e_.exact_key_id()) {
      return out;
    }
    QueryResultHandle r;
    DIMSTREAM_TRY(conn_.Run(fmt::format("SELECT _kid FROM {} WHERE _op <> 'T' GROUP BY _kid HAVING {}",
                                        t_.stage, t_.SeveralKeys()),
                            {}, &r));
    ChunkReader reader(r.get());
    reader.ForEach([&](idx_t row) { out.push_back(reader.GetUInt64(0, row)); });
    return out;
  }

  Status ListKeys(const std::vector<uint64_t>& key_ids) override {
    DIMSTREAM_TRY(conn_.Exec("CREATE TEMP TABLE IF NOT EXISTS " + std::string(kListedKeys) + " (k UBIGINT)"));
    DIMSTREAM_TRY(conn_.Exec("DELETE FROM " + Temp(kListedKeys)));
    listed_ = key_ids.size();
    Appender app(conn_, "temp", kListedKeys);
    for (uint64_t k : key_ids) {
      app.UInt64(k);
      app.EndRow();
    }
    return app.Close();
  }

  // The condition that selects the key ids of `scope` in a table with a _kid column, prefixed with WHERE or
  // AND as `lead` says; empty for every key id.
  std::string Scope(KeyScope scope, const std::string& lead, const std::string& alias = "") const {
    std::string kid = alias.empty() ? "_kid" : alias + "._kid";
    switch (scope) {
      case KeyScope::kStaged:
        return fmt::format(" {} {} IN (SELECT _kid FROM {} WHERE _op <> 'T')", lead, kid, t_.stage);
      case KeyScope::kListed:
        return fmt::format(" {} {} IN (SELECT k FROM {})", lead, kid, Temp(kListedKeys));
      case KeyScope::kAll:
        break;
    }
    return {};
  }

  Status AppendStageToLog(KeyScope scope) override {
    if (scope != KeyScope::kListed || listed_ > 0) {
      DIMSTREAM_TRY(conn_.Exec(fmt::format(
          "DELETE FROM {0} USING {1} s WHERE {0}._kid = s._kid AND {0}._seq_key = s._seq_key{2}{3}", t_.log,
          t_.stage, t_.AndSameKey(t_.log, "s"), Scope(scope, "AND", "s"))));
    }
    DIMSTREAM_TRY(conn_.Exec(
        fmt::format("INSERT INTO {} ({}) SELECT {} FROM {} WHERE _op <> 'T'", t_.log, t_.LogColumns(),
                    EntityTables::Join({EntityTables::Of("", t_.keys), EntityTables::Of("", t_.scd1),
                                        EntityTables::Of("", t_.scd2), "_op", EntityTables::Of("", t_.seq),
                                        "_seq_key, _arrival, _kid, _scd1_hash, _scd2_hash"}),
                    t_.stage)));
    // A truncate with the same sequence as an earlier one supersedes it.
    DIMSTREAM_TRY(
        conn_.Exec(fmt::format("DELETE FROM {0} USING {1} s WHERE s._op = 'T' AND {0}._seq_key = s._seq_key",
                               t_.truncates, t_.stage)));
    return conn_.Exec(fmt::format("INSERT INTO {} SELECT {}, _seq_key, _arrival FROM {} WHERE _op = 'T'",
                                  t_.truncates, EntityTables::Of("", t_.seq), t_.stage));
  }

  Status ReadKeyStates(std::optional<int64_t> after_arrival,
                       const std::function<void(const KeyRow&)>& sink) override {
    QueryResultHandle r;
    // Each key id in full: its newest sequence over all its records, and whether several keys share it.
    std::string where =
        after_arrival ? fmt::format("WHERE _kid IN (SELECT _kid FROM {} WHERE _arrival > $1)", t_.log) : "";
    std::vector<Param> params;
    if (after_arrival) {
      params.emplace_back(*after_arrival);
    }
    DIMSTREAM_TRY(conn_.Stream(
        fmt::format(
            "SELECT l._kid, l.last_seq, c._opened_arrival, c._scd1_hash, c._scd2_hash, l.several FROM "
            "(SELECT "
            "_kid, max(_seq_key) AS last_seq, {0} AS several FROM {1} {2} GROUP BY _kid) l LEFT JOIN {3} c "
            "ON c._kid = l._kid",
            t_.SeveralKeys(), t_.log, where, t_.current),
        params, &r));
    ChunkReader reader(r.get());
    uint64_t previous = 0;
    bool any = false;
    reader.ForEach([&](idx_t row) {
      KeyRow k;
      k.key_id = reader.GetUInt64(0, row);
      k.last_seq = OrderedFloor(reader.GetText(1, row));
      if (!reader.IsNull(2, row)) {
        k.opened_arrival = reader.GetInt64(2, row);
        k.scd1_hash = reader.GetUInt64(3, row);
        k.scd2_hash = reader.GetUInt64(4, row);
      }
      k.several_keys = reader.GetBool(5, row);
      // Two current rows under one key id come as two rows of the same key id (the join repeats it).
      if (any && previous == k.key_id) {
        k.several_keys = true;
      }
      previous = k.key_id;
      any = true;
      sink(k);
    });
    return Ok();
  }

  Result<std::optional<Micros>> NewestLogSequence() override {
    return conn_.ScalarInt("SELECT epoch_us(max(_seq)) FROM " + t_.log);
  }

  // The ordinal of a record's key among the keys of its key id, and the order that groups each key.
  std::string KeyOrdinal() const {
    return e_.exact_key_id() ? std::string("0::BIGINT")
                             : fmt::format("dense_rank() OVER (PARTITION BY _kid ORDER BY {})",
                                           EntityTables::Of("", t_.keys));
  }
  std::string KeyOrder() const {
    return e_.exact_key_id() ? std::string("_kid") : "_kid, " + EntityTables::Of("", t_.keys);
  }

  Status ReadLogWhere(const std::string& where, const std::vector<Param>& params,
                      const std::function<void(MergeRecord&&)>& sink) {
    return ReadRecords(
        fmt::format("SELECT _kid, {}, _seq_key, _arrival, _op, _scd1_hash, _scd2_hash FROM {} {} "
                    "ORDER BY {}, _seq_key, _arrival",
                    KeyOrdinal(), t_.log, where, KeyOrder()),
        params, sink, /*stream=*/true);
  }

  Status ReadLogOfKeysBefore(Micros horizon, const std::function<void(MergeRecord&&)>& sink) override {
    return ReadLogWhere(fmt::format("WHERE _kid IN (SELECT _kid FROM {} WHERE _seq < $1)", t_.log),
                        {Timestamp{horizon}}, sink);
  }

  Status ReadLog(KeyScope scope, const std::function<void(MergeRecord&&)>& sink) override {
    return ReadLogWhere(Scope(scope, "WHERE"), {}, sink);
  }

  // Fills a temporary table (opened, updated, scd1, closed, del) with versions' records.
  Status WriteVersions(const std::vector<Version>& versions) {
    DIMSTREAM_TRY(conn_.Exec("CREATE TEMP TABLE IF NOT EXISTS " + std::string(kVersions) +
                             " (opened BIGINT, updated BIGINT, scd1 BIGINT, closed BIGINT, del BOOLEAN)"));
    DIMSTREAM_TRY(conn_.Exec("DELETE FROM " + Temp(kVersions)));
    Appender rows(conn_, "temp", kVersions);
    for (const Version& v : versions) {
      rows.Int64(v.opened_arrival);
      rows.Int64(v.updated_arrival);
      rows.Int64(v.scd1_arrival);
      v.open() ? rows.Null() : rows.Int64(v.closed_arrival);
      rows.Bool(v.ended_by_delete);
      rows.EndRow();
    }
    return rows.Close();
  }

  // The values of the versions in temp versions, from `src` (stage, or the log rows of the run's keys):
  // the key and SCD2 values of `updated`, the SCD1 values of `scd1`, valid_from the sequence of `opened`
  // (or of the replaced version), valid_to that of `closed` (in `closers`).
  std::string VersionRows(const std::string& src, const std::string& closers, bool history,
                          bool replaced) const {
    bool all_versions = e_.scd1_scope == Scd1Scope::kAllVersions;
    std::string s1 = all_versions ? "s1" : "u";
    std::vector<std::string> valid_from;
    for (const auto& c : t_.seq) {
      valid_from.push_back(replaced ? fmt::format("coalesce(rp.{0}, o.{0})", c) : "o." + c);
    }
    std::vector<std::string> cols = {EntityTables::Of("u", t_.keys), EntityTables::Of(s1, t_.scd1),
                                     EntityTables::Of("u", t_.scd2), EntityTables::Join(valid_from)};
    if (history) {
      cols.push_back(EntityTables::Of("c", t_.seq));
      cols.push_back("v.closed IS NULL, v.del");
    }
    cols.push_back(fmt::format("v.opened, v.updated, {}._scd1_hash, u._scd2_hash, u._kid", s1));
    std::string from = fmt::format(
        "FROM {0} v JOIN {1} u ON u._arrival = v.updated LEFT JOIN {1} o ON o._arrival = v.opened",
        Temp(kVersions), src);
    if (all_versions) {
      from += fmt::format(" JOIN {} s1 ON s1._arrival = v.scd1", src);
    }
    if (replaced) {
      // Only rewritten versions have an old opener there (the others were opened by staged records).
      from += fmt::format(" LEFT JOIN {} rp ON rp.opened = v.opened", Temp(kReplaced));
    }
    if (history) {
      from += fmt::format(" LEFT JOIN {} c ON c._arrival = v.closed", closers);
    }
    return fmt::format("SELECT {} {}{}", EntityTables::Join(cols), from,
                       history ? "" : " WHERE v.closed IS NULL");
  }

  // The versions of the temp table into history and, the open ones, into current.
  Status InsertVersions(const std::string& src, const std::string& closers, bool replaced) {
    DIMSTREAM_TRY(conn_.Exec(fmt::format("INSERT INTO {} ({}) {}", t_.history, t_.HistoryColumns(),
                                         VersionRows(src, closers, true, replaced))));
    return conn_.Exec(fmt::format("INSERT INTO {} ({}) {}", t_.current, t_.CurrentColumns(),
                                  VersionRows(src, closers, false, replaced)));
  }

  Status ReplaceLogBefore(Micros horizon, const std::vector<Version>& base) override {
    // The base records first (they read the records about to go), then the deletes.
    DIMSTREAM_TRY(WriteVersions(base));
    // As log rows: key, SCD1, SCD2, then 'U', the opener's sequence and arrival.
    bool all_versions = e_.scd1_scope == Scd1Scope::kAllVersions;
    std::string s1 = all_versions ? "s1" : "u";
    DIMSTREAM_TRY(conn_.Exec(fmt::format(
        "CREATE OR REPLACE TEMP TABLE {} AS SELECT {} FROM {} v JOIN {} u ON u._arrival = v.updated JOIN {} "
        "o "
        "ON o._arrival = v.opened{}",
        kBase,
        EntityTables::Join(
            {EntityTables::Of("u", t_.keys), EntityTables::Of(s1, t_.scd1), EntityTables::Of("u", t_.scd2),
             "'U' AS _op", EntityTables::Of("o", t_.seq),
             fmt::format("o._seq_key, v.opened AS _arrival, u._kid, {}._scd1_hash, u._scd2_hash", s1)}),
        Temp(kVersions), t_.log, t_.log,
        all_versions ? fmt::format(" JOIN {} s1 ON s1._arrival = v.scd1", t_.log) : "")));
    DIMSTREAM_TRY(conn_.Run(fmt::format("DELETE FROM {} WHERE _seq < $1", t_.log), {Timestamp{horizon}}));
    DIMSTREAM_TRY(
        conn_.Run(fmt::format("DELETE FROM {} WHERE _seq < $1", t_.truncates), {Timestamp{horizon}}));
    DIMSTREAM_TRY(conn_.Exec(
        fmt::format("INSERT INTO {} ({}) SELECT * FROM {}", t_.log, t_.LogColumns(), Temp(kBase))));
    return conn_.Exec("DROP TABLE " + Temp(kBase));
  }

  Status ReadVersions(KeyScope scope, const std::function<void(const VersionInfo&)>& sink) override {
    QueryResultHandle r;
    DIMSTREAM_TRY(conn_.Stream(fmt::format("SELECT _kid, _opened_arrival, is_current, _scd1_hash FROM {}{}",
                                           t_.history, Scope(scope, "WHERE")),
                               {}, &r));
    ChunkReader reader(r.get());
    reader.ForEach([&](idx_t row) {
      sink(VersionInfo{reader.GetUInt64(0, row), reader.GetInt64(1, row), reader.GetBool(2, row),
                       reader.GetUInt64(3, row)});
    });
    return Ok();
  }

  Status ReplaceVersions(KeyScope scope, const std::vector<Version>& versions) override {
    // Every version of the keys but those frozen by log retention: closed before the horizon, whose records
    // were compacted away (a version open at the horizon has a base record and is refolded).
    auto horizon = ReadParameter("HORIZON");
    if (!horizon.ok()) {
      return horizon.error();
    }
    std::vector<Param> params;
    std::string unfrozen;
    if (*horizon) {
      unfrozen = " AND (valid_to IS NULL OR valid_to >= $1)";
      params.emplace_back(Timestamp{**horizon});
    }
    DIMSTREAM_TRY(conn_.Run(
        fmt::format("DELETE FROM {} WHERE true{}{}", t_.history, Scope(scope, "AND"), unfrozen), params));
    DIMSTREAM_TRY(conn_.Exec(fmt::format("DELETE FROM {}{}", t_.current, Scope(scope, "WHERE"))));
    DIMSTREAM_TRY(WriteVersions(versions));
    // The records the versions read, gathered once from the log (for a few keys, much less than the log).
    std::string src = t_.log;
    if (scope != KeyScope::kAll) {
      DIMSTREAM_TRY(conn_.Exec(fmt::format("CREATE OR REPLACE TEMP TABLE {} AS SELECT * FROM {}{}", kSource,
                                           t_.log, Scope(scope, "WHERE"))));
      src = Temp(kSource);
    }
    std::string closers =
        fmt::format("(SELECT _arrival, {0} FROM {1} UNION ALL SELECT _arrival, {0} FROM {2})",
                    EntityTables::Of("", t_.seq), src, t_.truncates);
    DIMSTREAM_TRY(InsertVersions(src, closers, false));
    if (scope != KeyScope::kAll) {
      DIMSTREAM_TRY(conn_.Exec("DROP TABLE " + Temp(kSource)));
    }
    return Ok();
  }

  Status CloseUnstagedOpenVersions(const MergeRecord& truncate) override {
    std::string unstaged =
        e_.exact_key_id()
            ? fmt::format("{{0}}._kid NOT IN (SELECT _kid FROM {} WHERE _op <> 'T')", t_.stage)
            : fmt::format("NOT EXISTS (SELECT 1 FROM {} s WHERE s._op <> 'T' AND s._kid = {{0}}._kid AND {})",
                          t_.stage, t_.KeysEqual("s", "{0}"));
    std::string set;
    for (size_t i = 0; i < t_.seq.size(); ++i) {
      set += fmt::format("{}{} = t.{}", i ? ", " : "", t_.valid_to[i], t_.seq[i]);
    }
    DIMSTREAM_TRY(
        conn_.Run(fmt::format("UPDATE {0} SET {1}, is_current = false, _ended_by_delete = true FROM (SELECT "
                              "{2} FROM {3} WHERE _arrival = $1) t WHERE {0}.is_current AND {4}",
                              t_.history, set, EntityTables::Of("", t_.seq), t_.stage,
                              fmt::format(fmt::runtime(unstaged), t_.history)),
                  {truncate.arrival}));
    return conn_.Exec(
        fmt::format("DELETE FROM {} WHERE {}", t_.current, fmt::format(fmt::runtime(unstaged), t_.current)));
  }

  Result<std::vector<uint64_t>> ApplyIncrement(const std::vector<OpenVersionEdit>& edits,
                                               const std::vector<Version>& versions) override {
    // Set-based, inside the warehouse: the run's changes go in as small temporary tables of numbers, and
    // the values are copied from stage by joins, never through this process.
    DIMSTREAM_TRY(conn_.Exec("CREATE TEMP TABLE IF NOT EXISTS " + std::string(kEdits) +
                             " (kid UBIGINT, opened BIGINT, ref BIGINT, closed BIGINT, del BOOLEAN)"));
    DIMSTREAM_TRY(conn_.Exec("DELETE FROM " + Temp(kEdits)));
    size_t closes = 0;
    size_t rewrites = 0;
    {
      Appender app(conn_, "temp", kEdits);
      for (const OpenVersionEdit& e : edits) {
        app.UInt64(e.key_id);
        app.Int64(e.opened_arrival);
        app.Int64(e.ref_arrival);
        e.closed_arrival != 0 ? app.Int64(e.closed_arrival) : app.Null();
        app.Bool(e.by_delete);
        app.EndRow();
        (e.closed_arrival != 0 ? closes : rewrites)++;
      }
      DIMSTREAM_TRY(app.Close());
    }
    std::string edits_table = Temp(kEdits);
    // The key columns a history row must have: those of a staged record of the key (where key ids are
    // hashes).
    std::string ref_join = e_.exact_key_id() ? "" : fmt::format(" JOIN {} r ON r._arrival = e.ref", t_.stage);
    std::string same_key = t_.AndSameKey(t_.history, "r");
    idx_t matched_closes = 0;
    idx_t matched_rewrites = 0;
    if (closes > 0) {
      std::string set;
      for (size_t i = 0; i < t_.seq.size(); ++i) {
        set += fmt::format(", {} = c.{}", t_.valid_to[i], t_.seq[i]);
      }
      auto n = conn_.Changed(
          fmt::format("UPDATE {0} SET is_current = false, _ended_by_delete = e.del{1} FROM {2} e JOIN {3} c "
                      "ON c._arrival = "
                      "e.closed{4} WHERE {0}._kid = e.kid AND {0}._opened_arrival = e.opened{5}",
                      t_.history, set, edits_table, t_.stage, ref_join, same_key));
      if (!n.ok()) {
        return n.error();
      }
      matched_closes = *n;
    }
    bool replaced = false;
    if (rewrites > 0) {
      // A rewritten version keeps its valid_from: read it from current before its row goes.
      DIMSTREAM_TRY(
          conn_.Exec(fmt::format("CREATE OR REPLACE TEMP TABLE {} AS SELECT cur._opened_arrival AS opened, "
                                 "{} FROM {} cur JOIN {} e ON "
                                 "cur._kid = e.kid AND cur._opened_arrival = e.opened WHERE e.closed IS NULL",
                                 kReplaced, RenamedValidFrom("cur"), t_.current, edits_table)));
      replaced = true;
      auto n = conn_.Changed(
          fmt::format("DELETE FROM {0} USING {1} e{2} WHERE e.closed IS NULL AND {0}._kid = e.kid "
                      "AND {0}._opened_arrival = e.opened{3}",
                      t_.history, edits_table, ref_join, same_key));
      if (!n.ok()) {
        return n.error();
      }
      matched_rewrites = *n;
    }
    if (matched_closes != closes || matched_rewrites != rewrites) {
      return Mismatched(ref_join, closes - matched_closes + rewrites - matched_rewrites);
    }
    if (!edits.empty()) {
      DIMSTREAM_TRY(conn_.Exec(
          fmt::format("DELETE FROM {0} USING {1} e WHERE {0}._kid = e.kid AND {0}._opened_arrival = e.opened",
                      t_.current, edits_table)));
    }
    DIMSTREAM_TRY(WriteVersions(versions));
    DIMSTREAM_TRY(InsertVersions(t_.stage, t_.stage, replaced));
    if (replaced) {
      DIMSTREAM_TRY(conn_.Exec("DROP TABLE " + Temp(kReplaced)));
    }
    return std::vector<uint64_t>{};
  }

  // valid_from and the further valid_from columns of `alias`, named as the sequence columns (_seq, ...).
  std::string RenamedValidFrom(const std::string& alias) const {
    std::string out;
    for (size_t i = 0; i < t_.seq.size(); ++i) {
      out += fmt::format("{}{}.{} AS {}", i ? ", " : "", alias, t_.valid_from[i], t_.seq[i]);
    }
    return out;
  }

  // The key ids of the edits that found no history row of their key (the run is rolled back after this).
  Result<std::vector<uint64_t>> Mismatched(const std::string& ref_join, size_t missing) {
    std::vector<uint64_t> out;
    if (e_.exact_key_id()) {
      return Error::Permanent(fmt::format(
          "{} edits of open versions found no history row (the key index disagrees with {}); the run is "
          "rolled back and the index read again",
          missing, e_.history_table()));
    }
    // A close that did not happen leaves its row open; a replacement that did not happen leaves its row.
    QueryResultHandle r;
    DIMSTREAM_TRY(conn_.Run(
        fmt::format(
            "SELECT DISTINCT e.kid FROM {0} e WHERE (e.closed IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {1} "
            "h{2} WHERE h._kid = e.kid AND h._opened_arrival = e.opened{3})) OR "
            "(e.closed IS NULL AND EXISTS (SELECT 1 FROM {1} h WHERE h._kid = e.kid AND h._opened_arrival = "
            "e.opened))",
            Temp(kEdits), t_.history, ref_join, t_.AndSameKey("h", "r")),
        {}, &r));
    ChunkReader reader(r.get());
    reader.ForEach([&](idx_t row) { out.push_back(reader.GetUInt64(0, row)); });
    if (out.empty()) {
      return Error::Permanent(fmt::format("{} edits of open versions found no history row", missing));
    }
    return out;
  }

  Status SetScd1OfAllVersions(const std::vector<std::pair<uint64_t, int64_t>>& latest,
                              bool in_stage) override {
    if (t_.scd1.empty()) {
      return Ok();
    }
    DIMSTREAM_TRY(conn_.Exec("CREATE TEMP TABLE IF NOT EXISTS " + std::string(kLatest) +
                             " (kid UBIGINT, arrival BIGINT)"));
    DIMSTREAM_TRY(conn_.Exec("DELETE FROM " + Temp(kLatest)));
    {
      Appender app(conn_, "temp", kLatest);
      for (const auto& [kid, arrival] : latest) {
        app.UInt64(kid);
        app.Int64(arrival);
        app.EndRow();
      }
      DIMSTREAM_TRY(app.Close());
    }
    std::string set;
    for (const auto& c : t_.scd1) {
      set += fmt::format("{} = s.{}, ", c, c);
    }
    return conn_.Exec(fmt::format(
        "UPDATE {0} SET {1}_scd1_hash = s._scd1_hash FROM {2} t JOIN {3} s ON s._arrival = t.arrival WHERE "
        "{0}._kid "
        "= t.kid AND {4} AND {0}._scd1_hash IS DISTINCT FROM s._scd1_hash",
        t_.history, set, Temp(kLatest), in_stage ? t_.stage : t_.log, t_.KeysEqual(t_.history, "s")));
  }

  Status Finish(int64_t new_watermark, const TaskRecord& task) override {
    DIMSTREAM_TRY(WriteParameter(kWatermarkName, new_watermark));
    FaultPoint("merge.before_cleanup");
    DIMSTREAM_TRY(conn_.Run(fmt::format("DELETE FROM {} WHERE _arrival <= $1", t_.raw), {new_watermark}));
    DIMSTREAM_TRY(conn_.Exec("DELETE FROM " + t_.stage));
    DIMSTREAM_TRY(InsertTask(conn_, task));
    FaultPoint("merge.before_commit");
    open_ = false;  // committed or rolled back by Commit
    DIMSTREAM_TRY(keeper_.Commit(conn_, *c_.db));
    FaultPoint("merge.after_commit");
    return Ok();
  }

 private:
  Connected c_;
  Connection& conn_;
  DatabaseKeeper& keeper_;
  const EntityTables& t_;
  const EntitySpec& e_;
  bool open_ = false;
  size_t listed_ = 0;  // key ids given to ListKeys
};

}  // namespace

Status InsertTask(Connection& conn, const TaskRecord& t) {
  return conn.Run(
      fmt::format("INSERT INTO {} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                  QuoteIdent(kTaskHistory)),
      {t.task_name, Timestamp{t.started_at}, Timestamp{t.finished_at}, t.status, t.rows_in, t.rows_staged,
       t.keys, t.versions_opened, t.versions_closed, t.scd1_updates, t.rows_rejected, t.watermark_from,
       t.watermark_to, t.error.empty() ? Param{} : Param{t.error}});
}

Result<std::unique_ptr<MergeSession>> NewMergeSession(Connected c, DatabaseKeeper& keeper,
                                                      const EntityTables& tables) {
  auto session = std::make_unique<DuckDbMergeSession>(std::move(c), keeper, tables);
  DIMSTREAM_TRY(session->Begin());
  return std::unique_ptr<MergeSession>(std::move(session));
}

}  // namespace dimstream::duck
