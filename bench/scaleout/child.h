#pragma once

// The processes dimstream_bench_scaleout starts: dimstream's commands and the server scripts, each with its
// output in a log file of its own.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"

namespace dimstream::scaleout {

namespace fs = std::filesystem;

// One child process (posix_spawn), its stdout and stderr appended to `log`. Stopped (SIGTERM, then SIGKILL
// after a grace period) and reaped when destroyed, so that no way out of the benchmark leaves one running.
class Child {
 public:
  static Result<Child> Start(const std::vector<std::string>& argv, const fs::path& log);
  Child() = default;
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  // Waits for the process to end; its exit code (128 + signal when a signal ended it).
  Result<int> Wait();
  // True while the process runs (it is reaped once it has ended).
  bool Running();
  // SIGTERM (dimstream's commands finish the work in hand and exit), then Wait with a grace period, then
  // SIGKILL. The exit code.
  Result<int> Stop(std::chrono::seconds grace = std::chrono::seconds(30));
  pid_t pid() const { return pid_; }
  const fs::path& log() const { return log_; }
  // The log's last lines, for an error message.
  std::string Tail(size_t lines = 15) const;

 private:
  pid_t pid_ = -1;
  int code_ = -1;  // once reaped
  fs::path log_;
};

// Runs a command to its end; kPermanent naming it and its log's tail unless it exits 0.
Status RunToEnd(const std::vector<std::string>& argv, const fs::path& log);

// Writes `text` to `path` (replacing it).
Status WriteFile(const fs::path& path, const std::string& text);

}  // namespace dimstream::scaleout
