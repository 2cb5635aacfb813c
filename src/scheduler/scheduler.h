#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>

#include "common/error.h"
#include "common/stop.h"

namespace dimstream {

// The Snowflake Task: runs a job every `interval` and also as soon as Trigger() is called (like a task
// on SYSTEM$STREAM_HAS_DATA), never two at once because the job only ever runs on the thread inside
// Run. A failed run is logged; the next tick runs the job again. Trigger() may be called from any thread.
class Scheduler {
 public:
  Scheduler(std::string name, std::chrono::milliseconds interval, std::function<Status()> job);

  void Trigger();
  // Whether Trigger() was called since the job's run in progress began (work waiting for the next run).
  bool Pending() const;
  // Runs until stop is requested; returns after the run in progress finishes.
  void Run(const StopSignal& stop);
  uint64_t runs() const;
  uint64_t failures() const;

 private:
  std::string name_;
  std::chrono::milliseconds interval_;
  std::function<Status()> job_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool triggered_ = false;
  uint64_t runs_ = 0;
  uint64_t failures_ = 0;
};

}  // namespace dimstream
