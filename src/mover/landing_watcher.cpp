#include "mover/landing_watcher.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <thread>

#include <spdlog/spdlog.h>

#include "mover/landing_names.h"

namespace dimstream {
namespace {

// IN_MODIFY, IN_DELETE and IN_MOVED_FROM only keep WrittenNotClosed up to date; they never wake the mover.
constexpr uint32_t kWatchMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MOVE_SELF | IN_MODIFY |
                                IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK;

}  // namespace

LandingWatcher::LandingWatcher() {
  fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) {
    spdlog::warn("cannot use inotify ({}); the mover will look at landing only every poll interval",
                 std::strerror(errno));
  }
}

LandingWatcher::~LandingWatcher() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

void LandingWatcher::Watch(const std::filesystem::path& dir) {
  if (fd_ < 0 || watch_by_path_.contains(dir.string())) {
    return;
  }
  int wd = ::inotify_add_watch(fd_, dir.c_str(), kWatchMask);
  if (wd < 0) {
    int err = errno;
    if (err == ENOSPC && !warned_limit_) {
      warned_limit_ = true;
      spdlog::warn(
          "cannot watch {}: the inotify watch limit is reached (raise fs.inotify.max_user_watches); "
          "files there are found by the periodic listing only",
          dir.string());
    } else if (err != ENOENT && err != ENOTDIR && err != ENOSPC) {
      spdlog::warn("cannot watch {}: {}; files there are found by the periodic listing only", dir.string(),
                   std::strerror(err));
    }
    return;
  }
  // The same directory reached under a new path (it was moved) keeps its descriptor: forget the old path.
  if (auto old = path_by_watch_.find(wd); old != path_by_watch_.end()) {
    watch_by_path_.erase(old->second);
  }
  path_by_watch_[wd] = dir.string();
  watch_by_path_[dir.string()] = wd;
}

bool LandingWatcher::Wait(std::chrono::milliseconds timeout) {
  if (fd_ < 0) {
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  struct pollfd pfd {
    fd_, POLLIN, 0
  };
  int ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  if (ready <= 0) {
    return false;
  }
  bool relevant = false;
  bool written = false;
  alignas(struct inotify_event) char buffer[64 * 1024];
  while (true) {
    ssize_t got = ::read(fd_, buffer, sizeof(buffer));
    if (got <= 0) {
      break;  // EAGAIN: drained
    }
    size_t offset = 0;
    while (offset + sizeof(struct inotify_event) <= static_cast<size_t>(got)) {
      struct inotify_event event {};
      std::memcpy(&event, buffer + offset, sizeof(event));
      std::string_view name;
      if (event.len > 0) {
        const char* start = buffer + offset + sizeof(event);
        name = std::string_view(start, ::strnlen(start, event.len));
      }
      offset += sizeof(event) + event.len;

      if ((event.mask & IN_Q_OVERFLOW) != 0) {
        relevant = true;              // events were dropped: list everything
        written_not_closed_.clear();  // a close may be among them; the lease check still guards
        continue;
      }
      auto dir = path_by_watch_.find(event.wd);
      if ((event.mask & (IN_IGNORED | IN_MOVE_SELF)) != 0) {
        // The directory is gone or moved away; if it moved within landing, IN_MOVED_TO on its new
        // parent makes the next listing watch it under its new path.
        if (dir != path_by_watch_.end()) {
          const std::string prefix = (std::filesystem::path(dir->second) / "").string();
          std::erase_if(written_not_closed_,
                        [&](const std::string& file) { return file.starts_with(prefix); });
          watch_by_path_.erase(dir->second);
          path_by_watch_.erase(dir);
        }
        if ((event.mask & IN_MOVE_SELF) != 0) {
          ::inotify_rm_watch(fd_, event.wd);
        }
        continue;
      }
      const bool is_dir = (event.mask & IN_ISDIR) != 0;
      const bool skipped = IsSkippedLandingName(name);
      std::string file;
      if (!is_dir && !skipped && !name.empty() && dir != path_by_watch_.end()) {
        file = (std::filesystem::path(dir->second) / name).string();
      }
      if ((event.mask & IN_MODIFY) != 0) {
        // Written, maybe not closed: remembered until its IN_CLOSE_WRITE. Not a reason to look again.
        if (!file.empty()) {
          written_not_closed_.insert(file);
        }
        written = true;
      } else if ((event.mask & (IN_DELETE | IN_MOVED_FROM)) != 0) {
        // Our own clean-up, or a file leaving: nothing new to move.
        if (!file.empty()) {
          written_not_closed_.erase(file);
        }
      } else if ((event.mask & IN_CREATE) != 0 && !is_dir) {
        // A file just created is still being written: its IN_CLOSE_WRITE will come.
        if (!file.empty()) {
          written_not_closed_.erase(file);  // a new file under the name of one written earlier
        }
      } else if (!skipped) {
        // IN_CLOSE_WRITE, IN_MOVED_TO, or a new directory.
        if (!file.empty()) {
          written_not_closed_.erase(file);
        }
        relevant = true;
      }
    }
  }
  if (!relevant && written) {
    // Let a writer's next writes coalesce into one event (inotify merges an event identical to the last
    // one queued) rather than waking at each write; a close or a new file waits at most this long.
    constexpr std::chrono::milliseconds kCoalesce{5};
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left > std::chrono::milliseconds(0)) {
      std::this_thread::sleep_for(std::min(left, kCoalesce));
    }
  }
  return relevant;
}

bool LandingWatcher::WrittenNotClosed(const std::filesystem::path& file) const {
  return written_not_closed_.contains(file.string());
}

}  // namespace dimstream
