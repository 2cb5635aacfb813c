#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <unordered_map>

namespace dimstream {

// Wakes the mover when something may have arrived in the landing directory, through inotify: a file
// closed after writing (IN_CLOSE_WRITE), renamed or moved in (IN_MOVED_TO), or a new subdirectory
// (IN_CREATE), which the next listing then watches in turn. It only says "look again"; the listing
// decides what is there, so an event lost (queue overflow, watch limit, a directory created and filled
// between two events) costs latency until the next periodic listing, never a file.
//
// Owns the inotify descriptor and one watch per directory. Created and used by Mover::Run, on its thread
// only. When inotify is unavailable, available() is false and the mover relies on periodic listings.
class LandingWatcher {
 public:
  LandingWatcher();
  ~LandingWatcher();
  LandingWatcher(const LandingWatcher&) = delete;
  LandingWatcher& operator=(const LandingWatcher&) = delete;

  bool available() const { return fd_ >= 0; }

  // Watches `dir` unless it already is. Call it before listing `dir`, so that a file arriving after the
  // listing raises an event.
  void Watch(const std::filesystem::path& dir);

  // Waits up to `timeout` for events and consumes all that are pending. True when one of them may mean
  // a new file or directory; false on timeout or when the events were only about our own clean-up or
  // files still being written (dot files, *.tmp, *.part).
  bool Wait(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
  std::unordered_map<int, std::string> path_by_watch_;
  std::unordered_map<std::string, int> watch_by_path_;
  bool warned_limit_ = false;
};

}  // namespace dimstream
