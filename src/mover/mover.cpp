#include "mover/mover.h"

#include "common/fault.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/checksum.h"
#include "mover/landing_names.h"
#include "mover/landing_watcher.h"
#include "object_store/resolve_key.h"

namespace dimstream {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

// How often a wait checks the stop signal when it cannot be woken by it (inotify, back-pressure).
constexpr milliseconds kStopCheck{100};

int64_t MtimeNanos(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

int64_t WallNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Sleeps up to `wait`, returning early on a stop or on an inotify event that may mean a new file.
void WaitForChange(const StopSignal& stop, LandingWatcher& watcher, milliseconds wait) {
  if (!watcher.available()) {
    stop.WaitFor(wait);
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (!stop.Requested()) {
    auto left = std::chrono::ceil<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= milliseconds(0)) {
      return;
    }
    if (watcher.Wait(std::min(left, kStopCheck))) {
      return;
    }
  }
}

// A lease break signals the holder, with SIGIO unless told otherwise, and SIGIO's default action ends
// the process. Each lease is given no owner right after it is taken, so that normally no signal is sent
// at all; this covers the instant in between. Once per process, and only if nobody handles SIGIO.
void IgnoreSigioUnlessHandled() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (::sigaction(SIGIO, nullptr, &current) != 0 || (current.sa_flags & SA_SIGINFO) != 0 ||
        current.sa_handler != SIG_DFL) {
      return;
    }
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    ::sigaction(SIGIO, &ignore, nullptr);
  });
}

// A read-only descriptor on a landing file and, while held, a read lease on it (fcntl(2), "Leases").
// The kernel refuses a read lease with EAGAIN while any descriptor, in any process (ours included), has
// the file open for writing: that is how the mover tells a file still being written in place. While the
// lease is held, a process opening the file for writing, or truncating it, blocks until the lease is
// released (at most /proc/sys/fs/lease-break-time), and F_GETLEASE reports the break at once: hold it
// only for short work, never while waiting.
class ReadLease {
 public:
  enum class State {
    kHeld,
    kWriterOpen,   // a process has the file open for writing (or holds a write lease on it)
    kGone,         // no longer there, or no longer a regular file
    kUnsupported,  // the kernel refuses leases here (error()): not our file, or the file system
    kCannotOpen,   // open failed otherwise (error()); reading the file will report it
  };

  ReadLease() = default;
  ~ReadLease() {
    if (fd_ >= 0) {
      ::close(fd_);  // releases the lease too
    }
  }
  ReadLease(const ReadLease&) = delete;
  ReadLease& operator=(const ReadLease&) = delete;

  // Opens `path` and takes the lease.
  State Take(const fs::path& path) {
    // O_NONBLOCK: fail at once, rather than wait, on a file someone else holds a write lease on.
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd_ < 0) {
      error_ = errno;
      if (error_ == ENOENT || error_ == ELOOP) {
        return State::kGone;
      }
      return error_ == EWOULDBLOCK ? State::kWriterOpen : State::kCannotOpen;
    }
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      return State::kGone;
    }
    return Retake();
  }

  // Takes the lease again on the open descriptor, after Release.
  State Retake() {
    IgnoreSigioUnlessHandled();
    if (::fcntl(fd_, F_SETLEASE, F_RDLCK) != 0) {
      error_ = errno;
      return error_ == EAGAIN ? State::kWriterOpen : State::kUnsupported;
    }
    held_ = true;
    ::fcntl(fd_, F_SETOWN, 0);  // no owner: a break sends no signal (F_GETLEASE tells instead)
    return State::kHeld;
  }

  bool held() const { return held_; }
  bool open() const { return fd_ >= 0; }
  int error() const { return error_; }

  // True when a process has started opening the file for writing (or truncating it) since the lease was
  // taken: the kernel is breaking the lease, or has broken it.
  bool Broken() const { return held_ && ::fcntl(fd_, F_GETLEASE) != F_RDLCK; }

  // Lets a writer waiting on the lease go on; keeps the descriptor for Retake.
  void Release() {
    if (held_) {
      ::fcntl(fd_, F_SETLEASE, F_UNLCK);
      held_ = false;
    }
  }

 private:
  int fd_ = -1;
  bool held_ = false;
  int error_ = 0;
};

}  // namespace

void Mover::Pass::Due(SteadyClock::duration d) {
  if (!next_due || d < *next_due) {
    next_due = d;
  }
}

Mover::Mover(MoverOptions options, ObjectStore& store, NotificationQueue& queue)
    : options_(std::move(options)), store_(store), queue_(queue) {
  options_.retry_initial = std::max(options_.retry_initial, milliseconds(1));
  options_.retry_max = std::max(options_.retry_max, options_.retry_initial);
  options_.poll_interval = std::max(options_.poll_interval, milliseconds(1));
}

Mover::~Mover() = default;

Result<uint64_t> Mover::MoveReady() {
  Result<Pass> pass = MovePass(nullptr, nullptr);
  if (!pass.ok()) {
    return pass.error();
  }
  return pass->moved;
}

Status Mover::Run(const StopSignal& stop, bool until_idle) {
  std::error_code ec;
  fs::create_directories(options_.landing, ec);
  if (ec) {
    return Error::Retryable(
        fmt::format("cannot create landing directory {}: {}", options_.landing.string(), ec.message()));
  }
  LandingWatcher watcher;
  spdlog::info("moving files from {} to {}, notifying {}", options_.landing.string(), store_.Describe(),
               queue_.Describe());
  std::string last_error;
  while (!stop.Requested()) {
    Result<Pass> pass = MovePass(&stop, &watcher);
    milliseconds wait = options_.poll_interval;
    if (!pass.ok()) {
      if (until_idle) {
        return pass.error();
      }
      if (pass.error().message != last_error) {
        last_error = pass.error().message;
        spdlog::error("{}; trying again every {}", last_error, options_.poll_interval);
      }
    } else {
      last_error.clear();
      if (pass->moved > 0) {
        continue;  // more may have arrived while we moved; idle means a pass that found nothing to do
      }
      if (until_idle && pass->pending == 0) {
        if (pass->failing > 0) {
          return Error::Retryable(fmt::format("{} file(s) in {} could not be moved; the first: {}",
                                              pass->failing, options_.landing.string(), pass->first_failure));
        }
        return Ok();
      }
      if (pass->next_due) {
        wait = std::min(wait, std::chrono::ceil<milliseconds>(*pass->next_due));
      }
    }
    WaitForChange(stop, watcher, wait);
  }
  return Ok();
}

Result<Mover::Pass> Mover::MovePass(const StopSignal* stop, LandingWatcher* watcher) {
  Pass pass;
  std::vector<Candidate> files;
  std::set<std::string> seen;
  if (watcher != nullptr) {
    watcher->Refresh();  // Run may come back at once after a move, without a Wait in between
  }
  DIMSTREAM_TRY(Walk(options_.landing, "", watcher, files, pass, seen));

  // Forget what is no longer there, so that a file coming back under the same name starts afresh.
  std::erase_if(warned_, [&](const std::string& id) { return !seen.contains(id); });
  std::set<std::string> keys;
  for (const Candidate& file : files) {
    keys.insert(file.key);
  }
  std::erase_if(retries_, [&](const auto& entry) { return !keys.contains(entry.first); });
  std::erase_if(writer_logged_, [&](const std::string& key) { return !keys.contains(key); });
  std::erase_if(unloaded_logged_, [&](const std::string& key) { return !keys.contains(key); });

  // Oldest first, as the files arrived: without an updated_at column, load order is the records' order.
  std::sort(files.begin(), files.end(), [](const Candidate& a, const Candidate& b) {
    return std::tie(a.mtime_ns, a.key) < std::tie(b.mtime_ns, b.key);
  });
  for (size_t i = 0; i < files.size(); ++i) {
    if ((stop != nullptr && stop->Requested()) || MoveOne(files[i], stop, pass) == Outcome::kStopPass) {
      pass.pending += files.size() - i;
      break;
    }
  }
  return pass;
}

Status Mover::Walk(const fs::path& dir, const std::string& prefix, LandingWatcher* watcher,
                   std::vector<Candidate>& out, Pass& pass, std::set<std::string>& seen) {
  // Watch before listing: a file that lands after the listing then raises an event.
  if (watcher != nullptr) {
    watcher->Watch(dir);
  }
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const fs::directory_entry& entry = *it;
    std::string name = entry.path().filename().string();
    if (IsSkippedLandingName(name)) {
      continue;  // still being written
    }
    std::string key = prefix + name;
    std::error_code status_ec;
    fs::file_status status = entry.symlink_status(status_ec);
    if (status_ec) {
      continue;  // removed since the listing
    }
    if (fs::is_symlink(status)) {
      WarnOnce("link:" + key,
               fmt::format("skipping {}: it is a symbolic link; the mover moves regular files only",
                           entry.path().string()),
               seen);
    } else if (fs::is_directory(status)) {
      DIMSTREAM_TRY(Walk(entry.path(), key + "/", watcher, out, pass, seen));
    } else if (fs::is_regular_file(status)) {
      struct stat st {};
      if (::lstat(entry.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        continue;
      }
      if (Result<fs::path> valid = ResolveKey(options_.landing, ObjectKey(key)); !valid.ok()) {
        // It can never be moved under this name: say so once, and count it against an idle run.
        std::string message =
            fmt::format("cannot move {}: {}; rename it", entry.path().string(), valid.error().message);
        WarnOnce("key:" + key, message, seen);
        ++pass.failing;
        if (pass.first_failure.empty()) {
          pass.first_failure = message;
        }
        continue;
      }
      out.push_back(Candidate{entry.path(), key, static_cast<uint64_t>(st.st_size), MtimeNanos(st),
                              static_cast<uint64_t>(st.st_ino),
                              watcher != nullptr && watcher->WrittenNotClosed(entry.path())});
    } else {
      WarnOnce(
          "special:" + key,
          fmt::format("skipping {}: not a regular file (a pipe, socket or device)", entry.path().string()),
          seen);
    }
  }
  if (ec) {
    if (prefix.empty()) {
      std::string message = fmt::format("cannot list landing directory {}: {}", dir.string(), ec.message());
      return ec == std::errc::no_such_file_or_directory ? Error::NotFound(message)
                                                        : Error::Retryable(message);
    }
    if (ec != std::errc::no_such_file_or_directory) {
      // One unreadable subdirectory must not stop the rest of landing from moving.
      std::string message = fmt::format("cannot list {}: {}", dir.string(), ec.message());
      WarnOnce("dir:" + prefix, message, seen);
      ++pass.failing;
      if (pass.first_failure.empty()) {
        pass.first_failure = message;
      }
    }
  }
  return Ok();
}

Mover::Outcome Mover::MoveOne(const Candidate& file, const StopSignal* stop, Pass& pass) {
  const auto now = SteadyClock::now();
  if (auto it = retries_.find(file.key); it != retries_.end() && it->second.retry_at > now) {
    ++pass.failing;
    if (pass.first_failure.empty()) {
      pass.first_failure = it->second.last_error;
    }
    pass.Due(it->second.retry_at - now);
    return Outcome::kFailed;
  }
  if (options_.min_file_age > milliseconds(0)) {
    const int64_t age_ns = WallNanos() - file.mtime_ns;
    const int64_t min_age_ns = std::chrono::nanoseconds(options_.min_file_age).count();
    if (age_ns < min_age_ns) {
      ++pass.pending;
      pass.Due(std::chrono::nanoseconds(min_age_ns - age_ns));
      return Outcome::kPending;
    }
  }

  // Before opening the file: a lease must never be held while waiting on back-pressure.
  if (!WaitForBacklog(stop)) {
    return Outcome::kStopPass;
  }

  // Is a process still writing it in place? Ask the kernel: it refuses a read lease while the file is
  // open for writing anywhere. (A writer that renames into landing has closed its file before.)
  ReadLease lease;
  if (options_.use_leases) {
    switch (lease.Take(file.path)) {
      case ReadLease::State::kHeld:
        break;
      case ReadLease::State::kWriterOpen:
        return StillWritten(file, pass);  // its IN_CLOSE_WRITE wakes Run
      case ReadLease::State::kGone:
        return Outcome::kGone;
      case ReadLease::State::kUnsupported:
        if (!lease_warned_) {
          lease_warned_ = true;
          spdlog::warn(
              "cannot take a read lease on {} ({}): the mover cannot ask the kernel whether a process still "
              "has a landing file open for writing, and relies on inotify and on the size and mtime not "
              "changing. A writer that writes files in place without renaming them may lose rows{}",
              file.path.string(), std::strerror(lease.error()),
              options_.min_file_age > milliseconds(0)
                  ? fmt::format(" written more than mover.min_file_age_ms ({}) apart",
                                options_.min_file_age.count())
                  : "; set mover.min_file_age_ms above its longest pause between writes, or run the mover "
                    "as the owner of the landing files (or with CAP_LEASE)");
        }
        break;
      case ReadLease::State::kCannotOpen:
        break;  // reading it below reports why
    }
  }
  if (!lease.held() && file.written_not_closed) {
    // No lease to ask: inotify saw it written and not closed since, so a writer still has it open.
    return StillWritten(file, pass);
  }

  Result<FileDigest> digest = Sha256File(file.path);
  if (!digest.ok()) {
    return digest.error().kind == ErrorKind::kNotFound ? Outcome::kGone : Fail(file, digest.error(), pass);
  }
  auto unchanged = [&file](const struct stat& st) {
    return static_cast<uint64_t>(st.st_size) == file.size && MtimeNanos(st) == file.mtime_ns &&
           static_cast<uint64_t>(st.st_ino) == file.inode;
  };
  struct stat after {};
  if (::lstat(file.path.c_str(), &after) != 0) {
    return Outcome::kGone;
  }
  if (!unchanged(after) || digest->size != file.size) {
    // Written since it was listed: look again later (IN_CLOSE_WRITE usually comes first).
    ++pass.pending;
    pass.Due(options_.poll_interval);
    return Outcome::kPending;
  }
  if (lease.Broken()) {
    // A writer is opening it and waits on our lease: step aside at once.
    return StillWritten(file, pass);
  }

  ObjectRef ref{ObjectKey(file.key), digest->size, digest->checksum};
  if (std::optional<Outcome> keep = KeepUnloadedObject(file, ref, pass)) {
    return *keep;
  }
  FaultPoint("mover.before_put");
  const Micros put_started = NowMicros();
  if (Status put = store_.Put(ref.key, file.path, ref); !put.ok()) {
    return Fail(file, put.error(), pass);
  }
  stats_.put_seconds.Observe(NowMicros() - put_started);
  // The put is verified: release the lease now, so that a writer waiting on it goes on. If one opened the
  // file meanwhile, what we put is still a whole version of it (it could not write before we let go); it
  // is announced, and the file stays for its next version.
  const bool opened_for_writing = lease.Broken();
  lease.Release();
  FaultPoint("mover.after_put");
  if (Status published = queue_.Publish(ref); !published.ok()) {
    // The object stays in the bucket; the retry finds it there (the put is idempotent) and notifies again.
    return Fail(file,
                published.error().Context(fmt::format("cannot notify {} on {}", file.key, queue_.Describe())),
                pass);
  }
  FaultPoint("mover.after_publish");
  retries_.erase(file.key);
  ++pass.moved;
  stats_.files_moved.fetch_add(1, std::memory_order_relaxed);
  stats_.bytes_moved.fetch_add(file.size, std::memory_order_relaxed);

  auto keep = [&](std::string_view why) {
    spdlog::info("{} {} while it was moved to {}; keeping it, its new content will be moved too",
                 file.path.string(), why, store_.Describe());
    ++pass.pending;
    return Outcome::kMoved;
  };
  if (opened_for_writing) {
    return keep("was opened for writing");
  }
  // Remove the landing file only if nobody has it open for writing (the lease again, held through the
  // unlink) and it still is what we put: a writer may have rewritten it meanwhile.
  if (lease.open() && lease.Retake() == ReadLease::State::kWriterOpen) {
    return keep("was opened for writing");
  }
  struct stat before_unlink {};
  if (::lstat(file.path.c_str(), &before_unlink) != 0) {
    return Outcome::kMoved;  // someone else removed it
  }
  if (!unchanged(before_unlink)) {
    return keep("changed");
  }
  if (::unlink(file.path.c_str()) != 0 && errno != ENOENT) {
    return Fail(
        file,
        Error::Retryable(fmt::format("it is in {} and notified, but cannot be removed from landing: {}",
                                     store_.Describe(), std::strerror(errno))),
        pass);
  }
  if (lease.Broken()) {
    // Opened for writing between the check and the unlink (its open waits on our lease): by a path looked
    // up before the unlink, so what it writes goes to the removed file. Not silently, at least.
    spdlog::warn(
        "{} was opened for writing just as it was removed from landing after its move; what that writer "
        "writes now is lost. Writers should write under a temporary name and rename (see landing_names.h)",
        file.path.string());
  }
  lease.Release();
  writer_logged_.erase(file.key);
  RemoveEmptyParents(file);
  spdlog::info("moved {} ({} bytes, sha256 {}) to {}", file.key, file.size, ref.checksum.get(),
               store_.Describe());
  return Outcome::kMoved;
}

std::optional<Mover::Outcome> Mover::KeepUnloadedObject(const Candidate& file, const ObjectRef& ref,
                                                        Pass& pass) {
  Result<ObjectInfo> current = store_.Stat(ref.key);
  if (!current.ok()) {
    return current.error().kind == ErrorKind::kNotFound ? std::nullopt
                                                        : std::optional(Fail(file, current.error(), pass));
  }
  // The put itself compares sizes and checksums; here the old content's checksum is needed as well, to
  // ask the ledger about it. Only for keys already in the bucket: a re-move after a crash, or a re-put.
  Result<std::unique_ptr<ByteStream>> stream = store_.Open(ref.key);
  Result<FileDigest> digest = stream.ok() ? Sha256Stream(**stream) : Result<FileDigest>(stream.error());
  if (!digest.ok()) {
    return digest.error().kind == ErrorKind::kNotFound ? std::nullopt
                                                       : std::optional(Fail(file, digest.error(), pass));
  }
  ObjectRef old{ref.key, digest->size, digest->checksum};
  if (old.checksum == ref.checksum) {
    return std::nullopt;  // the same content: the put changes nothing
  }
  if (!options_.loaded) {
    spdlog::warn(
        "{} replaces object {} in {}, which held other content (sha256 {}); if that content was not loaded "
        "yet, it never will be. Give each new file a new name, or run the mover in `dimstream run`, which "
        "waits for such a load",
        file.path.string(), ref.key.get(), store_.Describe(), old.checksum.get());
    return std::nullopt;
  }
  Result<bool> loaded = options_.loaded(old);
  if (!loaded.ok()) {
    return Fail(file,
                loaded.error().Context(
                    fmt::format("cannot tell whether the content {} holds now was loaded", ref.key.get())),
                pass);
  }
  if (*loaded) {
    return std::nullopt;
  }
  if (unloaded_logged_.insert(file.key).second) {
    spdlog::info(
        "leaving {} in landing until the loader has loaded the other content that object {} holds now "
        "(sha256 {}): replacing it first would lose that content",
        file.path.string(), ref.key.get(), old.checksum.get());
  }
  ++pass.pending;
  pass.Due(options_.poll_interval);
  return Outcome::kPending;
}

Mover::Outcome Mover::StillWritten(const Candidate& file, Pass& pass) {
  if (writer_logged_.insert(file.key).second) {
    spdlog::info("leaving {} in landing while a process has it open for writing", file.path.string());
  }
  ++pass.pending;
  pass.Due(options_.poll_interval);
  return Outcome::kPending;
}

Mover::Outcome Mover::Fail(const Candidate& file, const Error& error, Pass& pass) {
  stats_.failures.fetch_add(1, std::memory_order_relaxed);
  RetryState& state = retries_[file.key];
  ++state.attempts;
  milliseconds delay = options_.retry_initial;
  for (uint32_t i = 1; i < state.attempts && delay < options_.retry_max; ++i) {
    delay = std::min(delay * 2, options_.retry_max);
  }
  state.retry_at = SteadyClock::now() + delay;
  state.last_error = fmt::format("cannot move {}: {}", file.path.string(), error.message);
  spdlog::error("{}; retrying in {} (attempt {})", state.last_error, delay, state.attempts);
  ++pass.failing;
  if (pass.first_failure.empty()) {
    pass.first_failure = state.last_error;
  }
  pass.Due(delay);
  return Outcome::kFailed;
}

bool Mover::WaitForBacklog(const StopSignal* stop) {
  while (true) {
    Result<uint64_t> backlog = queue_.Backlog();
    if (!backlog.ok()) {
      // Not knowing the backlog is no reason to stop delivering; the publish reports a broker that is away.
      spdlog::warn("cannot read the backlog of {}: {}", queue_.Describe(), backlog.error().message);
      return true;
    }
    if (*backlog <= options_.max_backlog_objects) {
      if (backpressure_logged_) {
        spdlog::info("backlog of {} is down to {}; moving again", queue_.Describe(), *backlog);
        backpressure_logged_ = false;
      }
      return true;
    }
    if (!backpressure_logged_) {
      backpressure_logged_ = true;
      spdlog::info("{} notifications on {} are not loaded yet, more than max_backlog_objects ({}); {}",
                   *backlog, queue_.Describe(), options_.max_backlog_objects,
                   stop != nullptr ? "waiting" : "leaving the rest in landing for now");
    }
    if (stop == nullptr || stop->WaitFor(kStopCheck)) {
      return false;
    }
  }
}

void Mover::RemoveEmptyParents(const Candidate& file) {
  // Only the directories between the file and landing, deepest first; landing itself always stays.
  // rmdir refuses a directory that is not empty, so a file being written next to ours is safe.
  const auto depth = std::count(file.key.begin(), file.key.end(), '/');
  fs::path dir = file.path.parent_path();
  for (int64_t i = 0; i < depth; ++i) {
    if (::rmdir(dir.c_str()) != 0) {
      return;
    }
    dir = dir.parent_path();
  }
}

void Mover::WarnOnce(const std::string& id, const std::string& message, std::set<std::string>& seen) {
  seen.insert(id);
  if (warned_.insert(id).second) {
    spdlog::warn("{}", message);
  }
}

}  // namespace dimstream
