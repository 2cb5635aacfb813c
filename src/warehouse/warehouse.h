#pragma once

#include <chrono>
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
#include "warehouse/export_request.h"
#include "warehouse/load_request.h"
#include "warehouse/merge_session.h"

namespace dimstream {

using Value = std::optional<std::string>;  // a value shown as text; nullopt is NULL

enum class ColumnKind { kText, kNumber, kBoolean };

// A query's result as text, for `sql`, `status`, `check` and tests.
struct QueryResult {
  std::vector<std::string> columns;
  std::vector<ColumnKind> kinds;  // per column: how JSON output writes it
  std::vector<std::vector<Value>> rows;
};

// What an export wrote: the rows of each table, in the request's order, and its info_query's result.
struct ExportReceipt {
  std::vector<uint64_t> rows;
  QueryResult info;
};

// One load's transaction: the rows and rejects of an object are appended batch by batch, in bounded memory
// whatever the object's size, and commit together with its load_history row, or not at all. Destroying a
// session that did not commit rolls it back. Used from one thread; a warehouse runs one load at a time.
class LoadSession {
 public:
  virtual ~LoadSession() = default;
  // Accepted rows, into the entity's raw table.
  virtual Status AppendRows(const RawRows& rows) = 0;
  // Rejected rows, into the entity's rejects table.
  virtual Status AppendRejects(const std::vector<RejectedRow>& rejects) = 0;
  // Takes back every row appended so far (on_error = skip_file once a row is rejected); rejects stay.
  virtual Status DiscardRows() = 0;
  // Records the load and commits. kAlreadyDone (and nothing kept) when this key and checksum were loaded
  // or failed before: the checksum is known only once the object has been read.
  virtual Result<LoadReceipt> Commit(const LoadSummary& summary) = 0;
};

// What a process working on the warehouse says of itself in each heartbeat (Warehouse::Beat).
struct ProcessBeat {
  std::string process;  // unique among processes: "<host>:<pid>:<start time>"
  std::string role;     // its command: "run", "load", "merge"
  std::string host;
  int64_t pid = 0;
  std::string detail;  // its counters; "stopped" in the last beat of a clean stop
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
  // Opens the transaction of one load of `object` into the tables of `entity` (empty: the object matched
  // no entity, and only a failure can be recorded).
  virtual Result<std::unique_ptr<LoadSession>> BeginLoad(const ObjectInfo& object,
                                                         const std::string& entity) = 0;
  // A whole load at once, through BeginLoad: the rows, the rejects and the load_history row together,
  // exactly once per key and checksum (a failed request of no entity records load_history alone).
  Result<LoadReceipt> CommitLoad(const LoadRequest& request);

  // A merge run's transaction on the tables of the entity called `entity`.
  virtual Result<std::unique_ptr<MergeSession>> BeginMerge(const std::string& entity) = 0;
  // Records a run that failed and was rolled back.
  virtual Status RecordTask(const TaskRecord& task) = 0;

  virtual Result<QueryResult> Query(const std::string& sql) = 0;
  // Runs one statement that only reads (for `/api/sql`), its result as Query gives it. Anything else is
  // refused with kInvalidInput before it runs, the message saying what kind of statement it is and that only
  // SELECT (and EXPLAIN) are allowed: a write, ATTACH, INSTALL and LOAD, COPY, SET, a transaction's
  // statements. Several statements are refused. It runs in a read-only transaction, rolled back after it:
  // what writes from inside a read (nextval, a WITH that deletes) is refused there, kInvalidInput too.
  virtual Result<QueryResult> QueryReadOnly(const std::string& sql) = 0;

  // Writes the tables of `request` to their files (Parquet or CSV), all from one snapshot, and reads its
  // info_query in that snapshot too. Writes nothing in the warehouse. A file that could not be written
  // completely may be left partial: the caller writes to a temporary name and renames.
  virtual Result<ExportReceipt> Export(const ExportRequest& request) = 0;

  // Writes what the warehouse holds in its log (write-ahead log) into its tables now, at a moment the caller
  // chooses (the merge task when it is idle), instead of in the middle of a run.
  virtual Status Checkpoint() = 0;

  virtual std::string Describe() const = 0;

  // ---- several processes on one warehouse server ----
  // A warehouse that one process alone can open (DuckDB's file) grants every lease and keeps no heartbeat:
  // these defaults. A server's adapter keeps both in its tables, by the server's clock.

  // Takes the lease `name` for `holder`, or renews it when `holder` has it, for `ttl` from now: true when
  // `holder` holds it now, false while another holder's has not expired (`previous`, when given, is set to
  // whoever held it before, empty if nobody). What one process at a time does (an entity's merge task).
  virtual Result<bool> HoldLease(const std::string& name, const std::string& holder,
                                 std::chrono::milliseconds ttl, std::string* previous = nullptr);
  // Gives the lease up, if `holder` has it, so that another process takes it at once (a clean stop).
  virtual Status ReleaseLease(const std::string& name, const std::string& holder);
  // Records that the process is alive, and what it says; `status` lists every process with its last beat.
  virtual Status Beat(const ProcessBeat& beat);
};

}  // namespace dimstream
