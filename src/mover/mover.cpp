#include "mover/mover.h"

#include "common/fault.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
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
  DIMSTREAM_TRY(Walk(options_.landing, "", watcher, files, pass, seen));

  // Forget what is no longer there, so that a file coming back under the same name starts afresh.
  std::erase_if(warned_, [&](const std::string& id) { return !seen.contains(id); });
  std::set<std::string> keys;
  for (const Candidate& file : files) {
    keys.insert(file.key);
  }
  std::erase_if(retries_, [&](const auto& entry) { return !keys.contains(entry.first); });

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
                              static_cast<uint64_t>(st.st_ino)});
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
    // Still being written in place: look again later (IN_CLOSE_WRITE usually comes first).
    ++pass.pending;
    pass.Due(options_.poll_interval);
    return Outcome::kPending;
  }

  if (!WaitForBacklog(stop)) {
    return Outcome::kStopPass;
  }
  ObjectRef ref{ObjectKey(file.key), digest->size, digest->checksum};
  FaultPoint("mover.before_put");
  if (Status put = store_.Put(ref.key, file.path, ref); !put.ok()) {
    return Fail(file, put.error(), pass);
  }
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

  // Remove the landing file only if it still is what we put: a writer may have rewritten it meanwhile.
  // (A write in the instant between this check and the unlink is not caught; writers that rename into
  // landing, or a min_file_age, close that gap.)
  struct stat before_unlink {};
  if (::lstat(file.path.c_str(), &before_unlink) != 0) {
    return Outcome::kMoved;  // someone else removed it
  }
  if (!unchanged(before_unlink)) {
    spdlog::info("{} changed while it was moved to {}; keeping it, its new content will be moved too",
                 file.path.string(), store_.Describe());
    ++pass.pending;
    return Outcome::kMoved;
  }
  if (::unlink(file.path.c_str()) != 0 && errno != ENOENT) {
    return Fail(
        file,
        Error::Retryable(fmt::format("it is in {} and notified, but cannot be removed from landing: {}",
                                     store_.Describe(), std::strerror(errno))),
        pass);
  }
  RemoveEmptyParents(file);
  spdlog::info("moved {} ({} bytes, sha256 {}) to {}", file.key, file.size, ref.checksum.get(),
               store_.Describe());
  return Outcome::kMoved;
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
