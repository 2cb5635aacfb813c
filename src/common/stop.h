#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace dimstream {

// A stop request shared by every role of one process. Ctrl-C and SIGTERM set it (see cli/signals);
// loops test it and sleep through WaitFor so that a stop wakes them at once. Thread-safe.
class StopSignal {
 public:
  void Request() {
    {
      std::lock_guard lock(mu_);
      stopped_ = true;
    }
    cv_.notify_all();
  }
  bool Requested() const {
    std::lock_guard lock(mu_);
    return stopped_;
  }
  // Sleeps up to `d`; returns true if a stop was requested.
  template <typename Rep, typename Period>
  bool WaitFor(std::chrono::duration<Rep, Period> d) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, d, [this] { return stopped_; });
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool stopped_ = false;
};

}  // namespace dimstream
