#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "common/stop.h"

namespace dimstream {

// Progress of a long command (a large load, a merge of a backlog, a rebuild, an export) on a terminal: a line
// on stderr, redrawn twice a second from `what` (which reads the command's counters: it runs on a thread of
// its own) with the time elapsed, and erased when the command is done. Nothing when stderr is not a
// terminal (logs and pipes get the command's summary alone). With `quiet_info`, info log lines (one per file)
// are held back while it shows, as `run`'s status line does, unless --log-level asked for them.
class ProgressLine {
 public:
  ProgressLine(std::function<std::string()> what, bool quiet_info);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

 private:
  std::function<std::string()> what_;
  bool restore_level_ = false;
  int level_ = 0;
  StopSignal done_;
  std::thread thread_;
};

}  // namespace dimstream
