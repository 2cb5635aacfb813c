#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/histogram.h"
#include "common/stop.h"
#include "object_store/object_store.h"
#include "queue/notification_queue.h"

namespace dimstream {

class LandingWatcher;

struct MoverOptions {
  std::filesystem::path landing;
  std::chrono::milliseconds poll_interval{1000};  // periodic listing, the fallback to inotify
  // A file must be unchanged this long (by its mtime) before it is taken. Not needed for a writer that
  // keeps its file open until done (a read lease tells, see Mover) unless leases are unavailable; needed
  // for writers that close and reopen a file between writes without renaming it.
  std::chrono::milliseconds min_file_age{0};
  uint64_t max_backlog_objects = 1000;  // back-pressure: wait while queue.Backlog() exceeds this
  std::chrono::milliseconds retry_initial{200};
  std::chrono::milliseconds retry_max{30000};
  // Ask the kernel, through a read lease, whether a process has a file open for writing. Leave it on;
  // false only exercises the fallback of file systems without leases (tests).
  bool use_leases = true;
  // Whether this content of an object (key and checksum) has been loaded, or failed to load, already: the
  // load ledger, where the process has one (`run`). With it, the mover never replaces an object whose
  // content has not been loaded yet: the bucket keeps one content per key, so that content would be
  // lost. The new file waits in landing until the loader has taken the old content. Without it (a
  // standalone `move`), an object is replaced at once, with a warning.
  std::function<Result<bool>(const ObjectRef&)> loaded;
};

// Counters for `status` and tests; readable from any thread while the mover runs.
struct MoverStats {
  std::atomic<uint64_t> files_moved{0};
  std::atomic<uint64_t> bytes_moved{0};
  std::atomic<uint64_t> failures{0};  // failed attempts, not files: a file that fails twice counts twice
  DurationHistogram put_seconds;      // each verified put into the bucket
};

// The NiFi role (ListFile, FetchFile, PutS3Object): moves each finished file from the landing directory to
// the bucket and announces it on the notification queue. A file's path under landing is its object key.
// A file is finished when its name is not a temporary one (landing_names.h), it is at least min_file_age
// old, and no process has it open for writing: the mover takes a read lease on it (fcntl F_SETLEASE,
// which the kernel refuses while the file is open for writing anywhere), holds it through the checksum
// and the put, and takes it again just before removing the file. A writer that opens the file while the
// lease is held waits until the put is done (at most /proc/sys/fs/lease-break-time) and the file is then
// kept for the next pass. Where leases are refused (not the file's owner and no CAP_LEASE, or a file
// system without leases) it warns once and falls back to inotify (a file written and not closed yet is
// left alone) and to comparing size and mtime; min_file_age covers writers those miss. Taking leases sets
// SIGIO to ignored if it has its default action (which would end the process on a lease break).
// Guarantees: the object appears whole or not at all (the store's Put), the notification is published
// only after the put succeeded, and the landing file is removed only after both, and only if it did not
// change meanwhile. A crash anywhere re-moves the file at the next start: the put is idempotent and the
// loader ignores a repeated notification (key + checksum).
//
// Owns the per-file retry state (back-off) and nothing on disk. Called by the CLI (`dimstream move`,
// `dimstream run`); MoveReady and Run must be called from one thread at a time; stats() from any thread.
class Mover {
 public:
  Mover(MoverOptions options, ObjectStore& store, NotificationQueue& queue);
  ~Mover();
  Mover(const Mover&) = delete;
  Mover& operator=(const Mover&) = delete;

  // Moves every complete file now in landing; returns how many were moved. Files that failed stay and are
  // retried later with back-off (a file still in its back-off is skipped). Nothing can end a wait here,
  // so at the back-pressure limit it does not wait: it stops and leaves the rest for a later call.
  // kNotFound when landing does not exist.
  Result<uint64_t> MoveReady();

  // Watches landing (inotify, recursively, plus a listing every poll_interval as the fallback) and moves
  // files until `stop` is requested; creates landing when missing. With `until_idle`, returns once landing
  // holds no movable file: a file still in its retry back-off, or whose name cannot be an object key, is
  // not movable once its error was logged. Then it returns kRetryable naming the first such file, so that
  // a one-shot run does not look like a success, or Ok when everything was moved. A file a process keeps
  // open for writing is pending, not failing: until_idle waits for its close.
  Status Run(const StopSignal& stop, bool until_idle);

  const MoverStats& stats() const { return stats_; }

 private:
  using SteadyClock = std::chrono::steady_clock;

  // A regular file found in landing, as it was when listed.
  struct Candidate {
    std::filesystem::path path;
    std::string key;
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    uint64_t inode = 0;
    bool written_not_closed = false;  // inotify saw a write and no close since (Run only)
  };

  struct RetryState {
    uint32_t attempts = 0;
    SteadyClock::time_point retry_at;
    std::string last_error;
  };

  // What one pass over landing found.
  struct Pass {
    uint64_t moved = 0;
    uint64_t pending = 0;  // movable but not moved yet: too young, being written, held back, stopped
    uint64_t failing = 0;  // in back-off after a failure, or never movable (bad name)
    std::string first_failure;
    std::optional<SteadyClock::duration> next_due;  // when a pending or failing file wants another look
    void Due(SteadyClock::duration d);
  };

  enum class Outcome { kMoved, kPending, kFailed, kGone, kStopPass };

  Result<Pass> MovePass(const StopSignal* stop, LandingWatcher* watcher);
  Status Walk(const std::filesystem::path& dir, const std::string& prefix, LandingWatcher* watcher,
              std::vector<Candidate>& out, Pass& pass, std::set<std::string>& seen);
  Outcome MoveOne(const Candidate& file, const StopSignal* stop, Pass& pass);
  Outcome Fail(const Candidate& file, const Error& error, Pass& pass);
  // True when the put may go ahead; false when the pass must end (stop requested, or MoveReady's no-wait).
  bool WaitForBacklog(const StopSignal* stop);
  void RemoveEmptyParents(const Candidate& file);
  // Warns about `what` the first time it is seen; `seen` keeps the set from growing without bound.
  void WarnOnce(const std::string& id, const std::string& message, std::set<std::string>& seen);
  // Counts `file` as pending because a process still writes it, saying so once per file.
  Outcome StillWritten(const Candidate& file, Pass& pass);
  // Before a put of `ref`: when the bucket holds other content under its key that has not been loaded,
  // the outcome that keeps `file` in landing for now; nullopt when the put may replace it.
  std::optional<Outcome> KeepUnloadedObject(const Candidate& file, const ObjectRef& ref, Pass& pass);

  MoverOptions options_;
  ObjectStore& store_;
  NotificationQueue& queue_;
  MoverStats stats_;
  std::map<std::string, RetryState> retries_;  // by key
  std::set<std::string> warned_;               // ids of things already warned about, still present
  std::set<std::string> writer_logged_;        // keys said to be still written, still present
  std::set<std::string> unloaded_logged_;      // keys said to wait for their object's load, still present
  bool backpressure_logged_ = false;
  bool lease_warned_ = false;
};

}  // namespace dimstream
