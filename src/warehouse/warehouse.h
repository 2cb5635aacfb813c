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

// Which keys a merge session reads and replaces: those staged in this run, or every key (rebuild).
enum class KeyScope { kStaged, kAll };

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
  // The staged records into the log, replacing the log records they supersede.
  virtual Status AppendStageToLog() = 0;
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

  virtual std::string Describe() const = 0;
};

}  // namespace dimstream
