#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/types.h"
#include "object_store/object_store.h"

namespace dimstream {

// A text value that may be NULL. `value` views memory the caller keeps alive for the call.
struct TextRef {
  std::string_view value;
  bool null = true;
};

using Value = std::optional<std::string>;  // an owned attribute value; nullopt is NULL

// The accepted rows of one object, column by column, ready for the raw table.
struct RawRows {
  std::vector<int64_t> key;
  std::vector<std::vector<TextRef>> attributes;  // [attribute][row], in EntitySpec::attribute_columns() order
  std::vector<std::optional<Micros>> event_time;  // [row]; empty when the file has no sequence column
  std::vector<char> op;                           // [row]: 'I', 'U' or 'D'
  std::vector<uint64_t> line;
  std::vector<uint64_t> scd1_hash;
  std::vector<uint64_t> scd2_hash;
  size_t size() const { return key.size(); }
};

struct RejectedRow {
  uint64_t line = 0;
  std::string raw;
  std::string reason;
};

// Everything one load commits, in one transaction.
struct LoadRequest {
  ObjectInfo object;
  Checksum checksum;
  bool failed = false;  // the object as a whole was rejected; `error` says why
  std::string error;
  RawRows rows;
  std::vector<RejectedRow> rejects;
};

enum class LoadOutcome { kLoaded, kFailed, kAlreadyDone };

struct LoadReceipt {
  LoadOutcome outcome = LoadOutcome::kLoaded;
  int64_t load_id = 0;
};

// One record of the merge's log: the retained, de-duplicated input of the dimension.
struct LogRecord {
  int64_t key = 0;
  Micros seq = 0;
  int64_t arrival = 0;
  bool is_delete = false;
  std::vector<Value> attributes;
};

// A staged record as the merge's incremental path sees it: its attribute values stay in the warehouse, and
// their NULL-safe hashes (computed by the loader) tell an SCD1 change from an SCD2 change.
struct StagedRecord {
  int64_t key = 0;
  Micros seq = 0;
  int64_t arrival = 0;
  bool is_delete = false;
  uint64_t scd1_hash = 0;
  uint64_t scd2_hash = 0;
};

// One version of one key, as the fold computes it and the history table stores it.
struct Version {
  int64_t key = 0;
  std::vector<Value> attributes;
  Micros valid_from = 0;
  std::optional<Micros> valid_to;
  bool ended_by_delete = false;
  int64_t opened_arrival = 0;   // the record that opened the version
  int64_t updated_arrival = 0;  // the last record that changed it
  uint64_t scd1_hash = 0;
  uint64_t scd2_hash = 0;
};

// A version that was open before a merge run and is closed by it without any other change: only valid_to,
// is_current and the delete flag of its history row change.
struct VersionClose {
  int64_t key = 0;
  Micros valid_from = 0;
  Micros valid_to = 0;
  bool by_delete = false;
};

// One key as the merge's key index needs it: the newest sequence of its log records and its open version.
struct KeyRow {
  int64_t key = 0;
  Micros last_seq = 0;
  std::optional<Micros> open_from;  // nullopt: no open version
  int64_t opened_arrival = 0;
  uint64_t scd1_hash = 0;
  uint64_t scd2_hash = 0;
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
};

enum class ColumnKind { kText, kNumber, kBoolean };

// A query's result as text, for `sql`, `status`, `check` and tests.
struct QueryResult {
  std::vector<std::string> columns;
  std::vector<ColumnKind> kinds;  // per column: how JSON output writes it
  std::vector<std::vector<Value>> rows;
};

// Which keys a merge session reads and replaces: those staged in this run, every key (rebuild), or those
// given to MergeSession::ListKeys (the keys a run must refold from their log).
enum class KeyScope { kStaged, kAll, kListed };

// One merge run's transaction. Obtained from Warehouse::BeginMerge, used from one thread, then
// Commit or (by destruction) rolled back.
class MergeSession {
 public:
  virtual ~MergeSession() = default;
  // A parameter of this entity's merge job in parameter_control ("LETS": the watermark; "HORIZON": the
  // log retention horizon), nullopt when never set. Written in the session's transaction.
  virtual Result<std::optional<int64_t>> ReadParameter(const std::string& name) = 0;
  virtual Status WriteParameter(const std::string& name, int64_t value) = 0;
  // Raw rows above `watermark` into stage, superseded ones dropped.
  virtual Result<StageResult> Stage(int64_t watermark) = 0;
  // Moves the staged records whose sequence is before `horizon` into the rejects table with `reason`,
  // and counts them as rejected in load_history. Returns how many.
  virtual Result<uint64_t> RejectStagedBefore(Micros horizon, const std::string& reason) = 0;
  // The staged records, ordered by key, sequence, arrival.
  virtual Status ReadStage(const std::function<void(const StagedRecord&)>& sink) = 0;
  // The keys KeyScope::kListed selects in this session from now on.
  virtual Status ListKeys(const std::vector<int64_t>& keys) = 0;
  // The staged records into the log, replacing the log records they supersede, which are looked for among
  // the keys of `scope` only (a key whose staged records are all newer than its log has none).
  virtual Status AppendStageToLog(KeyScope scope) = 0;
  // Every key of the log with its newest sequence and its open version (the merge's key index); with
  // `after_arrival`, only the keys with log records that arrived after it, and the newest sequence among
  // those records (to bring a saved index up to date).
  virtual Status ReadKeyStates(std::optional<int64_t> after_arrival,
                               const std::function<void(const KeyRow&)>& sink) = 0;
  // The newest sequence in the log; nullopt when it is empty.
  virtual Result<std::optional<Micros>> NewestLogSequence() = 0;
  // Every log record of the keys that have records before `horizon`, ordered by key, sequence, arrival.
  virtual Status ReadLogOfKeysBefore(Micros horizon, const std::function<void(LogRecord&&)>& sink) = 0;
  // Deletes every log record before `horizon` and inserts `base` records (one per key at most) instead.
  virtual Status ReplaceLogBefore(Micros horizon, const std::vector<LogRecord>& base) = 0;
  // Every log record of the keys in `scope`, ordered by key, sequence, arrival.
  virtual Status ReadLog(KeyScope scope, const std::function<void(LogRecord&&)>& sink) = 0;
  // The versions of the keys in `scope` as they are now (for the run's counts).
  virtual Status ReadVersions(KeyScope scope, const std::function<void(Version&&)>& sink) = 0;
  // Replaces the versions of the keys in `scope` in history and current with `versions`: in history, each
  // key's versions from its first retained log record on (older ones are frozen by log retention).
  virtual Status ReplaceVersions(KeyScope scope, const std::vector<Version>& versions) = 0;
  // A run's changes to keys whose staged records were all newer than their log: closes `closes` in place,
  // deletes the history rows `rewritten` (key, valid_from) and the current rows of `current_keys`, then
  // appends `versions` to history and the open ones among them to current. Their attributes are left
  // empty: a version's values and hashes are those of the staged record `updated_arrival`, and are copied
  // inside the warehouse.
  virtual Status ApplyIncrement(const std::vector<VersionClose>& closes,
                                const std::vector<std::pair<int64_t, Micros>>& rewritten,
                                const std::vector<int64_t>& current_keys, const std::vector<Version>& versions) = 0;
  // Advances the watermark (LETS), deletes merged raw rows, empties stage, records the run, commits.
  virtual Status Finish(int64_t new_watermark, const TaskRecord& task) = 0;
};

// Port: the warehouse. The roles say what to do; the adapter owns the SQL dialect, the schema and the
// transactions. Thread-safe: the loader, the merge task and the query server call it from their threads.
class Warehouse {
 public:
  virtual ~Warehouse() = default;

  // True when the object with this version tag was already loaded or failed (lets the loader skip an
  // object without reading it).
  virtual Result<bool> HasVersion(const ObjectKey& key, const std::string& version_tag) = 0;
  // True when this key and checksum were already loaded or failed.
  virtual Result<bool> HasLoad(const ObjectKey& key, const Checksum& checksum) = 0;
  // Commits the rows, the rejects and the load_history row together, exactly once per key and checksum.
  virtual Result<LoadReceipt> CommitLoad(const LoadRequest& request) = 0;

  virtual Result<std::unique_ptr<MergeSession>> BeginMerge() = 0;
  // Records a run that failed and was rolled back.
  virtual Status RecordTask(const TaskRecord& task) = 0;

  virtual Result<QueryResult> Query(const std::string& sql) = 0;

  // Writes what the warehouse holds in its log (write-ahead log) into its tables now, at a moment the caller
  // chooses (the merge task when it is idle), instead of in the middle of a run.
  virtual Status Checkpoint() = 0;

  virtual std::string Describe() const = 0;
};

}  // namespace dimstream
