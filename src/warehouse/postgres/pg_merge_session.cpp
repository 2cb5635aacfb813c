#include "warehouse/postgres/pg_merge_session.h"

#include <fmt/format.h>

#include "common/clock.h"
#include "common/fault.h"
#include "common/typed_value.h"
#include "warehouse/postgres/pg_load_session.h"
#include "warehouse/postgres/pg_merge_log.h"
#include "warehouse/postgres/pg_stage.h"
#include "warehouse/postgres/pg_versions.h"
#include "warehouse/sql.h"

namespace dimstream::pg {
namespace {

constexpr const char* kListed = "dimstream_listed";
constexpr const char* kBase = "dimstream_base";
constexpr const char* kMergeWorkMem = "64MB";  // a merge run's memory for each sort and hash

class PgMergeSession : public MergeSession {
 public:
  PgMergeSession(PgPool::Lease conn, const EntitySpec& entity)
      : lease_(std::move(conn)),
        conn_(*lease_),
        e_(entity),
        writer_(conn_, entity),
        log_(QuoteIdent(entity.log_table())),
        history_(QuoteIdent(entity.history_table())),
        current_(QuoteIdent(entity.current_table())) {}
  ~PgMergeSession() override {
    if (open_) {
      (void)conn_.Run("ROLLBACK");
    }
  }

  Status Begin() {
    DIMSTREAM_TRY(conn_.Run("BEGIN", {}, "begin the merge run"));
    open_ = true;
    // A run's statements join a few temporary tables of a run's size with indexed tables: JIT compilation
    // (hundreds of ms a statement, taken when the planner's estimates for the unanalysed temporary tables
    // are large) costs more than it saves, and sorts of a run's rows fit in memory.
    DIMSTREAM_TRY(conn_.Run("SET LOCAL jit = off", {}, "set up the merge run"));
    DIMSTREAM_TRY(conn_.Run(fmt::format("SET LOCAL work_mem = {}", QuoteLiteral(kMergeWorkMem)), {},
                            "set up the merge run"));
    // One merge run of an entity at a time, whichever process runs it: a second waits for the first's end.
    return conn_.Run("SELECT pg_advisory_xact_lock(hashtext($1))", {e_.merge_job()},
                     "wait for the entity's other merge runs");
  }

  Result<std::optional<int64_t>> ReadParameter(const std::string& name) override {
    return ReadJobParameter(conn_, e_, name);
  }

  Status WriteParameter(const std::string& name, int64_t value) override {
    return WriteJobParameter(conn_, e_, name, value);
  }

  Result<StageResult> Stage(int64_t watermark, uint64_t max_rows) override {
    return StageRaw(conn_, e_, watermark, max_rows);
  }

  Result<uint64_t> RejectStagedBefore(Micros horizon, const std::string& reason) override {
    auto late = conn_.Exec(fmt::format("SELECT count(*) FROM {} WHERE _seq < $1", kStageTable),
                           {TimeParam(horizon)}, "count the staged records older than the horizon");
    if (!late.ok()) {
      return late.error();
    }
    const uint64_t n = static_cast<uint64_t>(late->Int(0, 0));
    if (n == 0) {
      return n;
    }
    // The raw text is gone once loaded; the values, comma-separated, say which record it was.
    std::string values;
    for (const std::string& c : e_.input_columns()) {
      values += (values.empty() ? "" : " || ',' || ") + fmt::format("coalesce({}::TEXT, '')", QuoteIdent(c));
    }
    DIMSTREAM_TRY(conn_.Run(
        fmt::format(
            "INSERT INTO {} (object_key, line, raw, reason, _load_ref, rejected_at) SELECT _object_key, "
            "_line, {}, $1, _load_ref, $2 FROM {} WHERE _seq < $3",
            QuoteIdent(e_.rejects_table()), values, kStageTable),
        {reason, TimeParam(NowMicros()), TimeParam(horizon)}, "reject the records older than the horizon"));
    DIMSTREAM_TRY(conn_.Run(
        fmt::format(
            "UPDATE load_history h SET rows_loaded = rows_loaded - r.n, rows_rejected = rows_rejected + "
            "r.n FROM (SELECT _load_ref, count(*) AS n FROM {} WHERE _seq < $1 GROUP BY _load_ref) r "
            "WHERE h.load_ref = r._load_ref",
            kStageTable),
        {TimeParam(horizon)}, "count the rejected records in load_history"));
    DIMSTREAM_TRY(conn_.Run(fmt::format("DELETE FROM {} WHERE _seq < $1", kStageTable), {TimeParam(horizon)},
                            "take the rejected records out of the stage"));
    return n;
  }

  Status ReadStage(const std::function<void(const MergeRecord&)>& sink) override {
    return ReadStagedRecords(conn_, false, sink);
  }

  Status ReadStagedTruncates(const std::function<void(const MergeRecord&)>& sink) override {
    return ReadStagedRecords(conn_, true, sink);
  }

  Status ReadTruncates(const std::function<void(const MergeRecord&)>& sink) override {
    return ReadMergedTruncates(conn_, e_, sink);
  }

  Result<std::vector<uint64_t>> StagedKeyIdsOfSeveralKeys() override {
    std::vector<uint64_t> out;
    if (e_.exact_key_id()) {
      return out;
    }
    auto r = conn_.Exec(
        fmt::format("SELECT _kid FROM (SELECT DISTINCT _kid, {} FROM {} WHERE _op <> 'T') d GROUP BY _kid "
                    "HAVING count(*) > 1",
                    IdentList(e_.key_columns), kStageTable),
        {}, "find key ids shared by staged keys");
    if (!r.ok()) {
      return r.error();
    }
    for (int i = 0; i < r->rows(); ++i) {
      out.push_back(static_cast<uint64_t>(r->Int(i, 0)));
    }
    return out;
  }

  Status ListKeys(const std::vector<uint64_t>& key_ids) override {
    DIMSTREAM_TRY(conn_.Run(fmt::format("DROP TABLE IF EXISTS {}", kListed)));
    DIMSTREAM_TRY(
        conn_.Run(fmt::format("CREATE TEMP TABLE {} (k BIGINT PRIMARY KEY) ON COMMIT DROP", kListed), {},
                  "list the keys to refold"));
    std::string data;
    for (uint64_t k : key_ids) {
      data += std::to_string(static_cast<int64_t>(k)) + "\n";
    }
    listed_ = key_ids.size();
    if (key_ids.empty()) {
      return Ok();
    }
    auto copied = conn_.CopyIn(fmt::format("COPY {} FROM STDIN", kListed), data, "list the keys to refold");
    return copied.ok() ? Ok() : Status(copied.error());
  }

  // The condition that selects the key ids of `scope` on the key id column `kid`, after `lead` (WHERE or
  // AND); empty for every key id.
  static std::string Scope(KeyScope scope, const std::string& lead, const std::string& kid = "_kid") {
    switch (scope) {
      case KeyScope::kStaged:
        return fmt::format(" {} {} IN (SELECT _kid FROM {} WHERE _op <> 'T')", lead, kid, kStageTable);
      case KeyScope::kListed:
        return fmt::format(" {} {} IN (SELECT k FROM {})", lead, kid, kListed);
      case KeyScope::kAll:
        break;
    }
    return {};
  }

  Status AppendStageToLog(KeyScope scope) override {
    // The records superseded by staged ones are found by the log's (key id, sequence) index, among the key
    // ids of the scope only: a run's other keys have only records newer than their log (the port's contract).
    return pg::AppendStageToLog(conn_, e_, scope != KeyScope::kListed || listed_ > 0,
                                Scope(scope, "AND", "s._kid"));
  }

  Status ReadKeyStates(std::optional<int64_t> after_arrival,
                       const std::function<void(const KeyRow&)>& sink) override {
    // Each key id's newest sequence (bytea has no max(): the last of the index's order) and its open
    // version; two open versions under one key id come as two rows of it.
    std::vector<Param> params;
    std::string where;
    if (after_arrival) {
      where = fmt::format("WHERE _kid IN (SELECT _kid FROM {} WHERE _arrival > $1)", log_);
      params.push_back(std::to_string(*after_arrival));
    }
    bool any = false;
    uint64_t previous = 0;
    return conn_.Stream(
        fmt::format("SELECT l._kid, l._seq_key, c._opened_arrival, c._scd1_hash, c._scd2_hash, "
                    "c._valid_from_key FROM (SELECT DISTINCT ON (_kid) _kid, _seq_key FROM {} {} ORDER BY "
                    "_kid, _seq_key DESC) l LEFT JOIN {} c ON c._kid = l._kid ORDER BY l._kid",
                    log_, where, current_),
        params, "read the key index's states", [&](const PgResult& r) {
          for (int i = 0; i < r.rows(); ++i) {
            KeyRow k;
            k.key_id = static_cast<uint64_t>(r.Int(i, 0));
            k.last_seq = OrderedFloor(DecodeBytea(r.Text(i, 1)));
            if (!r.IsNull(i, 2)) {
              k.opened_arrival = r.Int(i, 2);
              k.scd1_hash = static_cast<uint64_t>(r.Int(i, 3));
              k.scd2_hash = static_cast<uint64_t>(r.Int(i, 4));
              k.open_from = OrderedFloor(DecodeBytea(r.Text(i, 5)));
            }
            k.several_keys = any && previous == k.key_id;
            previous = k.key_id;
            any = true;
            sink(k);
          }
        });
  }

  Result<uint64_t> EstimateKeyIds() override {
    // The planner's row count of history (kept by autovacuum and ANALYZE; current is a view of it): at least
    // the keys, only to size the key index.
    auto n = conn_.Exec("SELECT greatest(reltuples, 0)::BIGINT FROM pg_class WHERE oid = $1::regclass",
                        {QuoteIdent(e_.history_table())}, "estimate the key ids");
    if (!n.ok()) {
      return n.error();
    }
    return static_cast<uint64_t>(n->rows() > 0 ? n->Int(0, 0) : 0);
  }

  Result<std::optional<Micros>> NewestLogSequence() override {
    if (e_.sequence_type().kind != TypeKind::kTimestamp) {
      return std::optional<Micros>();
    }
    auto r = conn_.Exec(fmt::format("SELECT (extract(epoch FROM max(_seq)) * 1000000)::BIGINT FROM {}", log_),
                        {}, "read the log's newest sequence");
    if (!r.ok()) {
      return r.error();
    }
    return r->IsNull(0, 0) ? std::optional<Micros>() : std::optional<Micros>(r->Int(0, 0));
  }

  Status ReadLogWhere(const std::string& where, const std::vector<Param>& params,
                      const std::function<void(MergeRecord&&)>& sink) {
    const bool exact = e_.exact_key_id();
    const std::string keys = IdentList(e_.key_columns);
    const std::string ordinal =
        exact ? "0" : fmt::format("dense_rank() OVER (PARTITION BY _kid ORDER BY {})", keys);
    return conn_.Stream(
        fmt::format("SELECT _kid, _seq_key, _arrival, _op, _scd1_hash, _scd2_hash, {} FROM {} {} ORDER BY "
                    "{}, {}_seq_key, _arrival",
                    ordinal, log_, where, kUnsignedKid, exact ? "" : keys + ", "),
        params, "read the log", [&](const PgResult& r) {
          for (int i = 0; i < r.rows(); ++i) {
            MergeRecord rec = RecordAt(r, i);
            rec.key_ord = static_cast<uint32_t>(r.Int(i, 6));
            sink(std::move(rec));
          }
        });
  }

  Status ReadLogOfKeysBefore(Micros horizon, const std::function<void(MergeRecord&&)>& sink) override {
    return ReadLogWhere(fmt::format("WHERE _kid IN (SELECT _kid FROM {} WHERE _seq < $1)", log_),
                        {TimeParam(horizon)}, sink);
  }

  Status ReadLog(KeyScope scope, const std::function<void(MergeRecord&&)>& sink) override {
    return ReadLogWhere(Scope(scope, "WHERE"), {}, sink);
  }

  Status ReplaceLogBefore(Micros horizon, const std::vector<Version>& base) override {
    // The base records first (they read the records about to go), then the deletes.
    DIMSTREAM_TRY(writer_.BaseRecords(base, kBase));
    DIMSTREAM_TRY(conn_.Run(fmt::format("DELETE FROM {} WHERE _seq < $1", log_), {TimeParam(horizon)},
                            "compact the log"));
    DIMSTREAM_TRY(conn_.Run(fmt::format("DELETE FROM {} WHERE _seq < $1", QuoteIdent(e_.truncates_table())),
                            {TimeParam(horizon)}, "compact the truncates"));
    return conn_.Run(fmt::format("INSERT INTO {} ({}) SELECT * FROM {}", log_, writer_.LogColumns(), kBase),
                     {}, "write the log's base records");
  }

  Status ReadVersions(KeyScope scope, const std::function<void(const VersionInfo&)>& sink) override {
    return conn_.Stream(fmt::format("SELECT _kid, _opened_arrival, is_current, _scd1_hash FROM {}{}",
                                    history_, Scope(scope, "WHERE")),
                        {}, "read the versions", [&](const PgResult& r) {
                          for (int i = 0; i < r.rows(); ++i) {
                            sink(VersionInfo{static_cast<uint64_t>(r.Int(i, 0)), r.Int(i, 1),
                                             r.Text(i, 2) == "t", static_cast<uint64_t>(r.Int(i, 3))});
                          }
                        });
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
      params.push_back(TimeParam(**horizon));
    }
    DIMSTREAM_TRY(
        conn_.Run(fmt::format("DELETE FROM {} WHERE true{}{}", history_, Scope(scope, "AND"), unfrozen),
                  params, "take out the refolded versions"));
    return writer_.AppendFromLog(versions);
  }

  Status CloseUnstagedOpenVersions(const MergeRecord& truncate) override {
    const std::string unstaged =
        fmt::format("NOT EXISTS (SELECT 1 FROM {} s WHERE s._op <> 'T' AND s._kid = x._kid{})", kStageTable,
                    e_.exact_key_id() ? "" : AndSameKey(e_, "s", "x"));
    std::string set = "valid_to = t._seq";
    for (const std::string& c : e_.extra_sequence_columns()) {
      set += fmt::format(", {} = t.{}", QuoteIdent("valid_to_" + c), QuoteIdent(c));
    }
    return conn_.Run(
        fmt::format("UPDATE {} x SET {}, is_current = false, _ended_by_delete = true FROM (SELECT * FROM {} "
                    "WHERE _arrival = $1) t WHERE x.is_current AND {}",
                    history_, set, kStageTable, unstaged),
        {std::to_string(truncate.arrival)}, "close the versions a truncate ends");
  }

  Status AddVersions(std::span<const Version> versions) override { return writer_.AddVersions(versions); }

  Status AddEdits(std::span<const OpenVersionEdit> edits) override { return writer_.AddEdits(edits); }

  Result<std::vector<uint64_t>> ApplyIncrement(ApplyOptions) override {
    // PostgreSQL writes a new row version for an UPDATE as for an INSERT: one way suits every run.
    return writer_.ApplyIncrement();
  }

  Status SetScd1OfAllVersions(const std::vector<std::pair<uint64_t, int64_t>>& latest,
                              bool in_stage) override {
    return writer_.SetScd1OfAllVersions(latest, in_stage);
  }

  Status Finish(int64_t new_watermark, const TaskRecord& task) override {
    DIMSTREAM_TRY(WriteParameter(kWatermarkParameter, new_watermark));
    FaultPoint("merge.before_cleanup");
    // Clean RAW: the loaded rows now merged (the log holds what a fold needs of them). They are in the loads
    // from the old watermark's to the new one's (the runs before deleted the earlier ones): bounds on the
    // load ids, so that raw's other rows are not read.
    DIMSTREAM_TRY(conn_.Run(
        fmt::format(
            "DELETE FROM {} r USING load_history h WHERE h.load_ref = r._load_ref AND h.load_id IS NOT "
            "NULL AND h.load_id >= $2 AND h.load_id <= $3 AND ((h.load_id << 32) | r._line) <= $1",
            QuoteIdent(RawRowsTable(e_))),
        {std::to_string(new_watermark), std::to_string(task.watermark_from >> 32),
         std::to_string(new_watermark >> 32)},
        "clean the merged raw rows"));
    DIMSTREAM_TRY(InsertTask(conn_, task));
    FaultPoint("merge.before_commit");
    open_ = false;  // committed, or rolled back by the server when the commit fails
    DIMSTREAM_TRY(conn_.Run("COMMIT", {}, "commit the merge run"));
    FaultPoint("merge.after_commit");
    return Ok();
  }

  Result<Compaction> CompactDelta(uint64_t, DeltaRows) override { return Compaction{}; }

  Result<DeltaSize> DeltaSizeNow() override { return DeltaSize{}; }

  Status Commit() override {
    open_ = false;
    return conn_.Run("COMMIT", {}, "commit");
  }

 private:
  PgPool::Lease lease_;
  PgConnection& conn_;
  const EntitySpec& e_;
  PgVersionWriter writer_;
  std::string log_, history_, current_;
  size_t listed_ = 0;  // key ids of KeyScope::kListed
  bool open_ = false;
};

}  // namespace

Result<std::unique_ptr<MergeSession>> BeginPgMerge(PgPool::Lease conn, const EntitySpec& entity) {
  auto session = std::make_unique<PgMergeSession>(std::move(conn), entity);
  DIMSTREAM_TRY(session->Begin());
  return std::unique_ptr<MergeSession>(std::move(session));
}

}  // namespace dimstream::pg
