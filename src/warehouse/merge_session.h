#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/types.h"
#include "config/entity.h"

// What the merge exchanges with the warehouse in one run. The merge never handles attribute values: it
// folds records by their sequences, operations and NULL-safe hashes, and says which record each version
// takes its values from; the warehouse copies the values itself.
namespace dimstream {

// A retained record of one key, or a truncate record, as the fold sees it.
struct MergeRecord {
  uint64_t key_id = 0;   // see RawRows::key_id; 0 for a truncate
  uint32_t key_ord = 0;  // which of the keys sharing key_id (ReadLog and ReadLogOfKeysBefore; 0 elsewhere)
  std::string seq;       // the sequence's ordered encoding (common/typed_value.h)
  int64_t arrival = 0;   // SEMANTICS.md section 4: load id << 32 | line; unique
  Operation op = Operation::kUpsert;
  uint64_t scd1_hash = 0;
  uint64_t scd2_hash = 0;
};

// One version of one key, as the fold computes it. Its values are those of its records: the key and the
// SCD2 values of `updated_arrival` (every record of a version has the same SCD2 values), the SCD1 values of
// `scd1_arrival`; valid_from is the sequence of `opened_arrival`, valid_to that of `closed_arrival`.
struct Version {
  uint64_t key_id = 0;
  uint32_t key_ord = 0;
  std::string valid_from;      // ordered encoding (a rewritten version's: the 8 bytes of KeyState::open_from)
  std::string valid_to;        // ordered encoding of closed_arrival's sequence; empty while open
  int64_t opened_arrival = 0;  // the record that opened it; also the version's identity (arrivals are unique)
  int64_t updated_arrival = 0;
  int64_t scd1_arrival = 0;      // updated_arrival, or with scd1_scope = all_versions the key's latest upsert
  int64_t closed_arrival = 0;    // 0: open
  bool ended_by_delete = false;  // by a delete or a truncate
  uint64_t scd1_hash = 0;
  uint64_t scd2_hash = 0;

  bool open() const { return closed_arrival == 0; }
};

// A version as the history table holds it now, to count what a run changes.
struct VersionInfo {
  uint64_t key_id = 0;
  int64_t opened_arrival = 0;
  bool open = false;
  uint64_t scd1_hash = 0;
};

// The changes of a run to a version that was open before it, found by its opener. `ref_arrival` is a staged
// record of the key the merge believes owns it: the history row must have that record's key columns, or
// the key index confused two keys that share a key id (see ApplyIncrement).
struct OpenVersionEdit {
  uint64_t key_id = 0;
  int64_t opened_arrival = 0;
  int64_t ref_arrival = 0;
  // Closed as it was by the staged (or truncate) record `closed_arrival`; 0: its row is replaced instead
  // (SCD1 in place: the run appends it again with new values, keeping its valid_from).
  int64_t closed_arrival = 0;
  bool by_delete = false;
};

// One key id as the merge's key index needs it.
struct KeyRow {
  uint64_t key_id = 0;
  uint64_t last_seq = 0;       // OrderedFloor of the newest sequence among the log records of the key id
  uint64_t open_from = 0;      // OrderedFloor of the open version's valid_from
  int64_t opened_arrival = 0;  // of the open version; 0: none
  uint64_t scd1_hash = 0;
  uint64_t scd2_hash = 0;
  bool several_keys = false;  // more than one key of this key id has a version open
};

// What a merge run did, for task_history.
struct TaskRecord {
  std::string task_name;
  Micros started_at = 0;
  Micros finished_at = 0;
  std::string status;  // "succeeded" or "failed"
  uint64_t rows_in = 0;
  uint64_t rows_staged = 0;
  uint64_t keys = 0;
  uint64_t versions_opened = 0;
  uint64_t versions_closed = 0;
  uint64_t scd1_updates = 0;
  uint64_t rows_rejected = 0;  // staged records older than the log retention horizon
  int64_t watermark_from = 0;
  int64_t watermark_to = 0;
  std::string error;
};

struct StageResult {
  uint64_t rows_in = 0;      // raw rows above the watermark
  uint64_t rows_staged = 0;  // after dropping superseded ones and exact duplicates
  int64_t new_watermark = 0;
  Micros newest_loaded_at = 0;  // the latest load commit among the staged rows (for freshness)
  bool more = false;            // cut at max_rows: raw holds more rows above new_watermark
};

// The rows of a delta (MergeSession::CompactDelta): those that give a version its values (it was opened or
// changed), and those that only close a version the compacted tables hold.
struct DeltaSize {
  uint64_t values = 0;
  uint64_t closes = 0;
  uint64_t total() const { return values + closes; }
};
// Which of them a compaction moves.
enum class DeltaRows { kValues, kCloses, kAny };

// What a compaction of the delta did.
struct Compaction {
  uint64_t moved = 0;  // delta rows moved into the tables they compact to
  DeltaSize left;      // delta rows still waiting
};

// Which key ids a merge session reads and replaces: those staged in this run, every one (rebuild), or those
// given to MergeSession::ListKeys (the ones a run must refold from their log).
enum class KeyScope { kStaged, kAll, kListed };

// The name of the merge job's watermark (LETS) in parameter_control: what a merge run has merged up to.
inline constexpr const char* kWatermarkParameter = "LETS";

// One merge run's transaction on one entity's tables. Obtained from Warehouse::BeginMerge, used from one
// thread, then Finish()ed or (by destruction) rolled back.
class MergeSession {
 public:
  virtual ~MergeSession() = default;
  // A parameter of this entity's merge job in parameter_control ("LETS": the watermark; "HORIZON": the
  // log retention horizon), nullopt when never set. Written in the session's transaction.
  virtual Result<std::optional<int64_t>> ReadParameter(const std::string& name) = 0;
  virtual Status WriteParameter(const std::string& name, int64_t value) = 0;
  // Raw rows above `watermark` into stage, superseded ones dropped (per key and sequence; truncates per
  // sequence). With `max_rows` (0: no limit), only the first max_rows of them in arrival order: what bounds a
  // run's memory however large a load was; the next run goes on from new_watermark.
  virtual Result<StageResult> Stage(int64_t watermark, uint64_t max_rows = 0) = 0;
  // Moves the staged records whose (timestamp) sequence is before `horizon` into the rejects table with
  // `reason`, and counts them as rejected in load_history. Returns how many.
  virtual Result<uint64_t> RejectStagedBefore(Micros horizon, const std::string& reason) = 0;
  // The staged records of keys, ordered by key id, sequence, arrival.
  virtual Status ReadStage(const std::function<void(const MergeRecord&)>& sink) = 0;
  // The staged truncate records, ordered by sequence, arrival.
  virtual Status ReadStagedTruncates(const std::function<void(const MergeRecord&)>& sink) = 0;
  // Every retained truncate record, ordered by sequence, arrival.
  virtual Status ReadTruncates(const std::function<void(const MergeRecord&)>& sink) = 0;
  // The key ids that more than one staged key has (only where key ids are hashes).
  virtual Result<std::vector<uint64_t>> StagedKeyIdsOfSeveralKeys() = 0;
  // The key ids KeyScope::kListed selects in this session from now on.
  virtual Status ListKeys(const std::vector<uint64_t>& key_ids) = 0;
  // The staged records become the log's newest (the log may hold them already, as the DuckDB adapter's does)
  // and staged truncates go into the truncates table, replacing the records they supersede, which are looked
  // for among the key ids of `scope` only (a key whose staged records are all newer than its log has none).
  virtual Status AppendStageToLog(KeyScope scope) = 0;
  // Every key id of the log with its newest sequence and its open version (the merge's key index); with
  // `after_arrival`, only the key ids with log records that arrived after it (to bring a saved index up to
  // date), each still described in full.
  virtual Status ReadKeyStates(std::optional<int64_t> after_arrival,
                               const std::function<void(const KeyRow&)>& sink) = 0;
  // About how many key ids the log holds (HyperLogLog), to size the key index before reading it.
  virtual Result<uint64_t> EstimateKeyIds() = 0;
  // The newest (timestamp) sequence in the log; nullopt when it is empty.
  virtual Result<std::optional<Micros>> NewestLogSequence() = 0;
  // Every log record of the key ids that have records before `horizon`, ordered by key id, key, sequence,
  // arrival.
  virtual Status ReadLogOfKeysBefore(Micros horizon, const std::function<void(MergeRecord&&)>& sink) = 0;
  // Deletes every log and truncate record before `horizon` and inserts one base record for each of `base`
  // (the version open at the horizon): that version's values, its valid_from as sequence, its opener's
  // arrival.
  virtual Status ReplaceLogBefore(Micros horizon, const std::vector<Version>& base) = 0;
  // Every log record of the key ids in `scope`, ordered by key id, key, sequence, arrival.
  virtual Status ReadLog(KeyScope scope, const std::function<void(MergeRecord&&)>& sink) = 0;
  // The versions of the key ids in `scope` as they are now (for the run's counts).
  virtual Status ReadVersions(KeyScope scope, const std::function<void(const VersionInfo&)>& sink) = 0;
  // Replaces the versions of the key ids in `scope` in history and current with `versions`, whose values
  // come from the log: in history, the versions whose opener the log still holds (older ones are frozen by
  // log retention).
  virtual Status ReplaceVersions(KeyScope scope, const std::vector<Version>& versions) = 0;
  // An in-order truncate (newer than every merged record): closes at `truncate` the open version of every
  // key that has no staged record in this run.
  virtual Status CloseUnstagedOpenVersions(const MergeRecord& truncate) = 0;
  // A run's changes to keys whose staged records are all newer than their log: its new versions and its
  // edits of the versions open before the run, each handed over in parts as the fold goes (so that a run's
  // changes are never all in this process's memory), then ApplyIncrement applies the edits (in history;
  // their rows in current are deleted), appends the added versions (values from stage) to history and the
  // open ones to current. An
  // edit whose history row does not have the key columns of its ref_arrival changes nothing; the key ids of
  // such edits are returned (empty when every edit found its row) and the caller must roll back.
  // `rewrite_in_place`: a version that only takes new SCD1 values is an UPDATE of its history row, not a
  // DELETE and an INSERT (slower to commit, but DuckDB keeps every delete spread over a table in memory,
  // outside its memory_limit, about 16 bytes a row of each 2,048-row vector with one, for as long as the
  // table holds the vector: a large backlog's rewrites spread over history would make the process grow with
  // it). `opened_to_base`, where the warehouse merges on read: the versions the run opened go straight into
  // the compacted tables rather than into the delta (they have no row there to replace; a run that opens
  // many, an initial load, would otherwise have them all compacted after it, slice by slice).
  struct ApplyOptions {
    bool rewrite_in_place = false;
    bool opened_to_base = false;
  };
  virtual Status AddVersions(std::span<const Version> versions) = 0;
  virtual Status AddEdits(std::span<const OpenVersionEdit> edits) = 0;
  virtual Result<std::vector<uint64_t>> ApplyIncrement(ApplyOptions options) = 0;
  // scd1_scope = all_versions: gives every version of each key the SCD1 values of its latest upsert
  // (key id, arrival of that record, in stage when `in_stage`, else in the log).
  virtual Status SetScd1OfAllVersions(const std::vector<std::pair<uint64_t, int64_t>>& latest,
                                      bool in_stage) = 0;
  // Advances the watermark (LETS: raw shows what is above it), records the run, commits.
  virtual Status Finish(int64_t new_watermark, const TaskRecord& task) = 0;

  // Merge on read: where the warehouse resolves current and history when they are read, from tables it
  // compacts to and a delta of the versions runs changed since (narrow rows that ApplyIncrement appends
  // instead of rewriting wide ones), moves up to `max_rows` delta rows (0: all) into those tables. The
  // tables read the same before and after. Other operations of the session compact what they need first.
  // Where the warehouse has no delta: nothing to move. `kind` says which rows: moving a close reads the
  // closed version's values from the compacted table (for DuckDB, a scan of every column of current), so
  // closes are best moved many at a time.
  virtual Result<Compaction> CompactDelta(uint64_t max_rows, DeltaRows kind) = 0;
  // How many rows the delta holds (none where there is no delta).
  virtual Result<DeltaSize> DeltaSizeNow() = 0;
  // Commits a session that only compacted: the watermark stays, no run is recorded.
  virtual Status Commit() = 0;
};

}  // namespace dimstream
