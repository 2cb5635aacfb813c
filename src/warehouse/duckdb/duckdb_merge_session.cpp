#include "warehouse/duckdb/duckdb_merge_session.h"

#include <limits>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/fault.h"
#include "common/typed_value.h"
#include "warehouse/duckdb/delta_store.h"
#include "warehouse/duckdb/version_writer.h"
#include "warehouse/sql.h"

namespace dimstream::duck {
namespace {

constexpr const char* kLoadHistory = "load_history";
constexpr const char* kParameterControl = "parameter_control";
constexpr const char* kTaskHistory = "task_history";
// Temporary tables of a merge session (its connection's own).
constexpr const char* kSource = "dimstream_source";
constexpr const char* kBase = "dimstream_base";

Operation OpOf(std::string_view op) {
  return op == "D" ? Operation::kDelete : op == "T" ? Operation::kTruncate : Operation::kUpsert;
}

class DuckDbMergeSession : public MergeSession {
 public:
  DuckDbMergeSession(Connected c, DatabaseKeeper& keeper, const EntityTables& t)
      : c_(std::move(c)),
        conn_(*c_.conn),
        keeper_(keeper),
        t_(t),
        e_(t.e),
        writer_(conn_, t),
        delta_(conn_, t) {}
  ~DuckDbMergeSession() override {
    if (open_) {
      (void)conn_.Exec("ROLLBACK");
    }
  }

  Status Begin() {
    DIMSTREAM_TRY(conn_.Exec("BEGIN TRANSACTION"));
    open_ = true;
    auto watermark = ReadParameter(kWatermarkParameter);
    if (!watermark.ok()) {
      return watermark.error();
    }
    merged_upto_ = watermark->value_or(0);
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

  Result<StageResult> Stage(int64_t watermark, uint64_t max_rows) override {
    StageResult r;
    // What waits above the watermark; with more than max_rows of it, the run stops at the max_rows-th (a
    // top-N, not a sort, and only then: it costs about half as much as the rest of staging).
    int64_t upto = std::numeric_limits<int64_t>::max();
    auto count = [&]() -> Status {
      QueryResultHandle counts;
      DIMSTREAM_TRY(conn_.Run(
          fmt::format(
              "SELECT count(*), coalesce(max(_arrival), $1), coalesce(epoch_us(max(_loaded_at)), 0) FROM {} "
              "WHERE _arrival > $1 AND _arrival <= $2",
              t_.log),
          {watermark, upto}, &counts));
      ChunkReader reader(counts.get());
      reader.ForEach([&](idx_t row) {
        r.rows_in = static_cast<uint64_t>(reader.GetInt64(0, row));
        r.new_watermark = reader.GetInt64(1, row);
        r.newest_loaded_at = reader.GetInt64(2, row);
      });
      return Ok();
    };
    DIMSTREAM_TRY(count());
    if (max_rows > 0 && r.rows_in > max_rows) {
      auto cut = conn_.ScalarInt(
          fmt::format("SELECT _arrival FROM {} WHERE _arrival > $1 ORDER BY _arrival LIMIT 1 OFFSET $2",
                      t_.log),
          {watermark, static_cast<int64_t>(max_rows)});
      if (!cut.ok()) {
        return cut.error();
      }
      // The row past the first max_rows: stop before it.
      auto last = conn_.ScalarInt(
          fmt::format("SELECT max(_arrival) FROM {} WHERE _arrival > $1 AND _arrival < $2", t_.log),
          {watermark, cut->value_or(std::numeric_limits<int64_t>::max())});
      if (!last.ok()) {
        return last.error();
      }
      upto = last->value_or(watermark);
      r.more = true;
      DIMSTREAM_TRY(count());
    }
    // A later arrival with the same key and sequence supersedes an earlier one (SEMANTICS.md section 4); a
    // truncate has no key, so truncates supersede each other by sequence. Arrivals are unique, so the
    // winners are the maximum arrival of each group; a grouped semi-join finds them several times faster
    // than a window function.
    // By the typed sequence columns rather than _seq_key: the same groups (the encoding is one to one),
    // cheaper. The stage is a view of the log's records in the run's range that are the winners (the log is
    // in arrival order, so the range is read near its tail, about as cheaply as a copy, and the copy of
    // every record into a stage table, a wide write, is saved). Made even when nothing waits: a rebuild
    // reads it all the same.
    std::string group = t_.exact_kid ? t_.kid : EntityTables::Of("", t_.keys);  // a truncate's are NULL
    DIMSTREAM_TRY(conn_.Run(
        fmt::format(
            "CREATE OR REPLACE TEMP TABLE {} AS SELECT max(_arrival) AS a FROM {} WHERE _arrival > $1 "
            "AND _arrival <= $2 GROUP BY {}, {}",
            kWinners, t_.log, group, EntityTables::Of("", t_.seq)),
        {watermark, upto}));
    // A view's text takes no parameters: the bounds are integers, written out.
    DIMSTREAM_TRY(
        conn_.Exec(fmt::format("CREATE OR REPLACE TEMP VIEW {} AS SELECT * FROM {} WHERE _arrival > {} AND "
                               "_arrival <= {} AND _arrival IN (SELECT a FROM {})",
                               kStageView, t_.log, watermark, upto, Temp(kWinners))));
    merged_upto_ = watermark;        // the merged records, as the caller has them
    staged_upto_ = r.new_watermark;  // the newest arrival in the range
    if (r.rows_in == 0) {
      return r;
    }
    // One staged row per winner (the winners are arrivals in the run's range): no read of the view.
    auto staged = conn_.ScalarInt("SELECT count(*) FROM " + Temp(kWinners));
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
    DIMSTREAM_TRY(conn_.Run(fmt::format("DELETE FROM {} WHERE a IN (SELECT _arrival FROM {} WHERE _seq < $1)",
                                        Temp(kWinners), t_.stage),
                            {Timestamp{horizon}}));
    return static_cast<uint64_t>(**late);
  }

  // Reads records from a query whose columns are the key id, the key's ordinal, the sequence
  // (EntityTables::SeqRead), _arrival, _op, _scd1_hash, _scd2_hash.
  Status ReadRecords(const std::string& sql, const std::vector<Param>& params,
                     const std::function<void(MergeRecord&&)>& sink, bool stream = false) {
    QueryResultHandle r;
    DIMSTREAM_TRY(stream ? conn_.Stream(sql, params, &r) : conn_.Run(sql, params, &r));
    const ColumnType seq = e_.sequence_type();
    ChunkReader reader(r.get());
    reader.ForEach([&](idx_t row) {
      MergeRecord rec;
      rec.key_id = reader.IsNull(0, row) ? 0 : reader.GetUInt64(0, row);
      rec.key_ord = static_cast<uint32_t>(reader.GetInt64(1, row));
      if (t_.compact_seq) {
        reader.AppendEncoding(2, row, seq, rec.seq);
      } else {
        rec.seq = std::string(reader.GetText(2, row));
      }
      rec.arrival = reader.GetInt64(3, row);
      rec.op = OpOf(reader.GetText(4, row));
      rec.scd1_hash = reader.IsNull(5, row) ? 0 : reader.GetUInt64(5, row);
      rec.scd2_hash = reader.IsNull(6, row) ? 0 : reader.GetUInt64(6, row);
      sink(std::move(rec));
    });
    return Ok();
  }

  // The truncate records of `table` (stage, with `where`; or the truncates table).
  Status ReadTruncatesOf(const std::string& table, const std::string& where,
                         const std::function<void(const MergeRecord&)>& sink) {
    return ReadRecords(
        fmt::format("SELECT NULL::UBIGINT, 0::BIGINT, {}, _arrival, 'T', NULL::UBIGINT, NULL::UBIGINT "
                    "FROM {}{} ORDER BY {}, _arrival",
                    t_.SeqRead(), table, where, EntityTables::Of("", t_.seq)),
        {}, [&](MergeRecord&& r) { sink(r); });
  }

  Status ReadStage(const std::function<void(const MergeRecord&)>& sink) override {
    // Ordered by the typed sequence columns: the order of their encoding, cheaper to sort.
    return ReadRecords(
        fmt::format("SELECT {0}, 0::BIGINT, {1}, _arrival, _op, _scd1_hash, _scd2_hash FROM {2} "
                    "WHERE _op <> 'T' ORDER BY {0}, {3}, _arrival",
                    t_.kid, t_.SeqRead(), t_.stage, EntityTables::Of("", t_.seq)),
        {}, [&](MergeRecord&& r) { sink(r); });
  }

  Status ReadStagedTruncates(const std::function<void(const MergeRecord&)>& sink) override {
    return ReadTruncatesOf(t_.stage, " WHERE _op = 'T'", sink);
  }

  Status ReadTruncates(const std::function<void(const MergeRecord&)>& sink) override {
    return ReadTruncatesOf(t_.truncates, "", sink);
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
    DIMSTREAM_TRY(
        conn_.Exec(fmt::format("CREATE OR REPLACE TEMP TABLE {} (k {})", kListedKeys, t_.kid_type)));
    listed_ = key_ids.size();
    Appender app(conn_, "temp", kListedKeys);
    for (uint64_t k : key_ids) {
      VersionWriter::AppendKid(app, t_, k);
      app.EndRow();
    }
    return app.Close();
  }

  // The condition that selects the key ids of `scope` in a table of the entity, prefixed with WHERE or AND as
  // `lead` says; empty for every key id.
  std::string Scope(KeyScope scope, const std::string& lead, const std::string& alias = "") const {
    return ScopeOf(scope, lead, t_.KidOf(alias));
  }
  // The same on the key id column `kid`.
  std::string ScopeOf(KeyScope scope, const std::string& lead, const std::string& kid) const {
    switch (scope) {
      case KeyScope::kStaged:
        return fmt::format(" {} {} IN (SELECT {} FROM {} WHERE _op <> 'T')", lead, kid, t_.kid, t_.stage);
      case KeyScope::kListed:
        return fmt::format(" {} {} IN (SELECT k FROM {})", lead, kid, Temp(kListedKeys));
      case KeyScope::kAll:
        break;
    }
    return {};
  }

  Status AppendStageToLog(KeyScope scope) override {
    // The staged records are in the log already (the loader wrote them there): what goes is what they
    // supersede, merged before (the same key and sequence, SEMANTICS.md section 4), and the records of the
    // run's range that it does not merge (superseded within it, rejected). Its truncates stay (Log() does not
    // read them; the truncates table does).
    if (scope != KeyScope::kListed || listed_ > 0) {
      DIMSTREAM_TRY(conn_.Exec(
          fmt::format("DELETE FROM {0} USING {1} s WHERE {2} = s.{3} AND {4}{5}{6} AND {0}._arrival <= {7}",
                      t_.log, t_.stage, t_.KidOf(t_.log), t_.kid, t_.SeqEqual(t_.log, "s"),
                      t_.AndSameKey(t_.log, "s"), Scope(scope, "AND", "s"), merged_upto_)));
    }
    DIMSTREAM_TRY(conn_.Exec(fmt::format(
        "DELETE FROM {} WHERE _arrival > {} AND _arrival <= {} AND _arrival NOT IN (SELECT a FROM {})",
        t_.log, merged_upto_, staged_upto_, Temp(kWinners))));
    merged_upto_ = std::max(merged_upto_, staged_upto_);
    // A truncate with the same sequence as an earlier one supersedes it.
    DIMSTREAM_TRY(conn_.Exec(fmt::format("DELETE FROM {0} USING {1} s WHERE s._op = 'T' AND {2}",
                                         t_.truncates, t_.stage, t_.SeqEqual(t_.truncates, "s"))));
    return conn_.Exec(fmt::format(
        "INSERT INTO {} SELECT {} FROM {} WHERE _op = 'T'", t_.truncates,
        EntityTables::Join({EntityTables::Of("", t_.seq), t_.compact_seq ? "" : "_seq_key", "_arrival"}),
        t_.stage));
  }

  Status ReadKeyStates(std::optional<int64_t> after_arrival,
                       const std::function<void(const KeyRow&)>& sink) override {
    QueryResultHandle r;
    // Each key id in full: its newest sequence over all its records, and its open version. Whether several
    // keys share an id is not looked for here (a min and max of every key column is the dearest part of the
    // scan): the state of a shared id read this way keeps the key index's invariant anyway, unless two of its
    // keys have a version open, which shows as two rows of one id.
    std::string where =
        after_arrival ? fmt::format("WHERE {0} IN (SELECT {0} FROM {1} WHERE _arrival > $1)", t_.kid, Log())
                      : "";
    std::vector<Param> params;
    if (after_arrival) {
      params.emplace_back(*after_arrival);
    }
    DIMSTREAM_TRY(conn_.Stream(
        fmt::format("SELECT l.kid, l.last_seq, c._opened_arrival, c._scd1_hash, c._scd2_hash, false, "
                    "c.valid_from "
                    "FROM (SELECT {0} AS kid, max({1}) AS last_seq FROM {2} {3} GROUP BY {0}) l "
                    "LEFT JOIN {4} c ON {5} = l.kid",
                    t_.kid, t_.SeqRead(), Log(), where, t_.current_view, t_.KidOf("c")),
        params, &r));
    const ColumnType seq = e_.sequence_type();
    ChunkReader reader(r.get());
    uint64_t previous = 0;
    bool any = false;
    std::string encoding;
    reader.ForEach([&](idx_t row) {
      KeyRow k;
      k.key_id = reader.GetUInt64(0, row);
      encoding.clear();
      if (t_.compact_seq) {
        reader.AppendEncoding(1, row, seq, encoding);
      } else {
        encoding = reader.GetText(1, row);
      }
      k.last_seq = OrderedFloor(encoding);
      if (!reader.IsNull(2, row)) {
        k.opened_arrival = reader.GetInt64(2, row);
        k.scd1_hash = reader.GetUInt64(3, row);
        k.scd2_hash = reader.GetUInt64(4, row);
        // The floor of valid_from's encoding is that of its first column's.
        encoding.clear();
        reader.AppendEncoding(6, row, seq, encoding);
        k.open_from = OrderedFloor(encoding);
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

  Result<uint64_t> EstimateKeyIds() override {
    auto n = conn_.ScalarInt(fmt::format("SELECT approx_count_distinct({}) FROM {}", t_.kid, Log()));
    if (!n.ok()) {
      return n.error();
    }
    return static_cast<uint64_t>(n->value_or(0));
  }

  Result<std::optional<Micros>> NewestLogSequence() override {
    return conn_.ScalarInt("SELECT epoch_us(max(_seq)) FROM " + Log());
  }

  // The ordinal of a record's key among the keys of its key id, and the order that groups each key.
  std::string KeyOrdinal() const {
    return t_.exact_kid ? std::string("0::BIGINT")
                        : fmt::format("dense_rank() OVER (PARTITION BY _kid ORDER BY {})",
                                      EntityTables::Of("", t_.keys));
  }
  std::string KeyOrder() const { return t_.exact_kid ? t_.kid : "_kid, " + EntityTables::Of("", t_.keys); }

  Status ReadLogWhere(const std::string& where, const std::vector<Param>& params,
                      const std::function<void(MergeRecord&&)>& sink) {
    return ReadRecords(
        fmt::format(
            "SELECT {}, {}, {}, _arrival, _op, _scd1_hash, _scd2_hash FROM {} {} ORDER BY {}, {}, _arrival",
            t_.kid, KeyOrdinal(), t_.SeqRead(), Log(), where, KeyOrder(), EntityTables::Of("", t_.seq)),
        params, sink, /*stream=*/true);
  }

  Status ReadLogOfKeysBefore(Micros horizon, const std::function<void(MergeRecord&&)>& sink) override {
    return ReadLogWhere(fmt::format("WHERE {0} IN (SELECT {0} FROM {1} WHERE _seq < $1)", t_.kid, Log()),
                        {Timestamp{horizon}}, sink);
  }

  Status ReadLog(KeyScope scope, const std::function<void(MergeRecord&&)>& sink) override {
    return ReadLogWhere(Scope(scope, "WHERE"), {}, sink);
  }

  Status ReplaceLogBefore(Micros horizon, const std::vector<Version>& base) override {
    // Delta rows name log records by arrival, some of them about to go.
    DIMSTREAM_TRY(CompactDelta(0, DeltaRows::kAny));
    // The base records first (they read the records about to go), then the deletes.
    DIMSTREAM_TRY(writer_.BaseRecords(base, kBase));
    DIMSTREAM_TRY(
        conn_.Run(fmt::format("DELETE FROM {} WHERE _seq < $1 AND _arrival <= {}", t_.log, merged_upto_),
                  {Timestamp{horizon}}));
    DIMSTREAM_TRY(
        conn_.Run(fmt::format("DELETE FROM {} WHERE _seq < $1", t_.truncates), {Timestamp{horizon}}));
    DIMSTREAM_TRY(conn_.Exec(
        fmt::format("INSERT INTO {} ({}) SELECT * FROM {}", t_.log, t_.LogColumns(), Temp(kBase))));
    return conn_.Exec("DROP TABLE " + Temp(kBase));
  }

  Status ReadVersions(KeyScope scope, const std::function<void(const VersionInfo&)>& sink) override {
    QueryResultHandle r;
    DIMSTREAM_TRY(conn_.Stream(fmt::format("SELECT {}, _opened_arrival, is_current, _scd1_hash FROM {}{}",
                                           t_.kid, t_.history_view, Scope(scope, "WHERE")),
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
    DIMSTREAM_TRY(delta_.Drop(ScopeOf(scope, "WHERE", "kid")));
    DIMSTREAM_TRY(conn_.Exec(fmt::format("DELETE FROM {}{}", t_.current, Scope(scope, "WHERE"))));
    // The records the versions read, gathered once from the log (for a few keys, much less than the log).
    std::string src = Log();
    if (scope != KeyScope::kAll) {
      DIMSTREAM_TRY(conn_.Exec(fmt::format("CREATE OR REPLACE TEMP TABLE {} AS SELECT * FROM {}{}", kSource,
                                           Log(), Scope(scope, "WHERE"))));
      src = Temp(kSource);
    }
    DIMSTREAM_TRY(writer_.AppendFromLog(versions, src));
    if (scope != KeyScope::kAll) {
      DIMSTREAM_TRY(conn_.Exec("DROP TABLE " + Temp(kSource)));
    }
    return Ok();
  }

  Status CloseUnstagedOpenVersions(const MergeRecord& truncate) override {
    DIMSTREAM_TRY(CompactDelta(0, DeltaRows::kAny));  // the open versions are then all in the base tables
    std::string unstaged =
        t_.exact_kid
            ? fmt::format("{{0}}.{} NOT IN (SELECT {} FROM {} WHERE _op <> 'T')", t_.kid, t_.kid, t_.stage)
            : fmt::format("NOT EXISTS (SELECT 1 FROM {} s WHERE s._op <> 'T' AND s._kid = {{0}}._kid AND {})",
                          t_.stage, t_.KeysEqual("s", "{0}"));
    if (t_.merge_on_read) {
      // History holds closed versions only: the current rows go there, closed (one sequence column).
      DIMSTREAM_TRY(conn_.Run(
          fmt::format(
              "INSERT INTO {0} ({1}) SELECT {2} FROM {3} b, (SELECT _seq FROM {4} WHERE _arrival = $1) t "
              "WHERE {5}",
              t_.history, t_.HistoryColumns(), t_.BaseHistoryRow("t._seq", "false", "true"), t_.current,
              t_.stage, fmt::format(fmt::runtime(unstaged), "b")),
          {truncate.arrival}));
    } else {
      std::string set;
      for (size_t i = 0; i < t_.seq.size(); ++i) {
        set += fmt::format("{}{} = t.{}", i ? ", " : "", t_.valid_to[i], t_.seq[i]);
      }
      DIMSTREAM_TRY(conn_.Run(
          fmt::format("UPDATE {0} SET {1}, is_current = false, _ended_by_delete = true FROM (SELECT "
                      "{2} FROM {3} WHERE _arrival = $1) t WHERE {0}.is_current AND {4}",
                      t_.history, set, EntityTables::Of("", t_.seq), t_.stage,
                      fmt::format(fmt::runtime(unstaged), t_.history)),
          {truncate.arrival}));
    }
    return conn_.Exec(
        fmt::format("DELETE FROM {} WHERE {}", t_.current, fmt::format(fmt::runtime(unstaged), t_.current)));
  }

  Status AddVersions(std::span<const Version> versions) override { return writer_.AddVersions(versions); }

  Status AddEdits(std::span<const OpenVersionEdit> edits) override { return writer_.AddEdits(edits); }

  Result<std::vector<uint64_t>> ApplyIncrement(ApplyOptions options) override {
    if (t_.merge_on_read) {
      DIMSTREAM_TRY(writer_.CloseParts());
      return delta_.AppendRun(options.opened_to_base);
    }
    return writer_.ApplyIncrement(options.rewrite_in_place);
  }

  Result<Compaction> CompactDelta(uint64_t max_rows, DeltaRows kind) override {
    Compaction c;
    if (!t_.merge_on_read) {
      return c;
    }
    auto moved = delta_.Compact(max_rows, kind);
    if (!moved.ok()) {
      return moved.error();
    }
    c.moved = *moved;
    auto left = DeltaSizeNow();
    if (!left.ok()) {
      return left.error();
    }
    c.left = *left;
    return c;
  }

  Result<DeltaSize> DeltaSizeNow() override {
    return t_.merge_on_read ? delta_.Size() : Result<DeltaSize>(DeltaSize{});
  }

  Status Commit() override {
    open_ = false;
    return keeper_.Commit(conn_, *c_.db);
  }

  Status SetScd1OfAllVersions(const std::vector<std::pair<uint64_t, int64_t>>& latest,
                              bool in_stage) override {
    return writer_.SetScd1OfAllVersions(latest, in_stage);
  }

  Status Finish(int64_t new_watermark, const TaskRecord& task) override {
    // Raw is the log above the watermark: advancing it is the clean-up.
    DIMSTREAM_TRY(WriteParameter(kWatermarkParameter, new_watermark));
    FaultPoint("merge.before_cleanup");
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
  VersionWriter writer_;
  DeltaStore delta_;
  bool open_ = false;
  size_t listed_ = 0;  // key ids given to ListKeys
  // The log's merged records are those up to merged_upto_: the watermark, then, once AppendStageToLog has
  // made the staged records part of it, the run's last arrival. The run's range is (the watermark,
  // staged_upto_].
  int64_t merged_upto_ = 0;
  int64_t staged_upto_ = 0;

  // The merged records of the log but truncates, as a table expression: what a fold reads.
  std::string Log() const {
    return fmt::format("(SELECT * FROM {} WHERE _arrival <= {} AND _op <> 'T')", t_.log, merged_upto_);
  }
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
