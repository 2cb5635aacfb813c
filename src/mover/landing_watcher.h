#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace dimstream {

// Wakes the mover when something may have arrived in the landing directory, through inotify: a file
// closed after writing (IN_CLOSE_WRITE), renamed or moved in (IN_MOVED_TO), or a new subdirectory
// (IN_CREATE), which the next listing then watches in turn. It only says "look again"; the listing
// decides what is there, so an event lost (queue overflow, watch limit, a directory created and filled
// between two events) costs latency until the next periodic listing, never a file.
//
// It also remembers the files written (IN_MODIFY) and not closed since (no IN_CLOSE_WRITE yet): a writer
// that writes in place still has them open. The mover asks the kernel first (a read lease, see mover.cpp)
// and uses this only where leases are unavailable. Forgotten on close, rename, removal, a new file under
// the same name, the directory's watch going away, and a queue overflow (which may have dropped a close).
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
  // files still being written (dot files, *.tmp, *.part, writes to a file not closed yet). After writes
  // only, it pauses a few milliseconds (within `timeout`) so that a busy writer's events coalesce
  // instead of waking the caller at every write.
  bool Wait(std::chrono::milliseconds timeout);

  // Consumes the pending events without waiting, so that WrittenNotClosed is current: call it before a
  // listing (what those events announced, the listing sees).
  void Refresh() { (void)Wait(std::chrono::milliseconds(0)); }

  // True when inotify reported a write to `file` (a path under a watched directory, as the listing
  // spells it) and no close after writing since, as of the last Wait.
  bool WrittenNotClosed(const std::filesystem::path& file) const;

 private:
  int fd_ = -1;
  std::unordered_map<int, std::string> path_by_watch_;
  std::unordered_map<std::string, int> watch_by_path_;
  std::unordered_set<std::string> written_not_closed_;  // full paths
  bool warned_limit_ = false;
};

}  // namespace dimstream
