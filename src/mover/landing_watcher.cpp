#include "mover/landing_watcher.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include <spdlog/spdlog.h>

#include "mover/landing_names.h"

namespace dimstream {
namespace {

constexpr uint32_t kWatchMask =
    IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK;

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
  struct pollfd pfd {
    fd_, POLLIN, 0
  };
  int ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  if (ready <= 0) {
    return false;
  }
  bool relevant = false;
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
        relevant = true;  // events were dropped: list everything
      } else if ((event.mask & (IN_IGNORED | IN_MOVE_SELF)) != 0) {
        // The directory is gone or moved away; if it moved within landing, IN_MOVED_TO on its new
        // parent makes the next listing watch it under its new path.
        if (auto it = path_by_watch_.find(event.wd); it != path_by_watch_.end()) {
          watch_by_path_.erase(it->second);
          path_by_watch_.erase(it);
        }
        if ((event.mask & IN_MOVE_SELF) != 0) {
          ::inotify_rm_watch(fd_, event.wd);
        }
      } else if ((event.mask & IN_CREATE) != 0 && (event.mask & IN_ISDIR) == 0) {
        // A file just created is still being written: its IN_CLOSE_WRITE will come.
      } else if (!IsSkippedLandingName(name)) {
        relevant = true;
      }
    }
  }
  return relevant;
}

}  // namespace dimstream
