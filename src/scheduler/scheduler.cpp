#include "scheduler/scheduler.h"

#include <spdlog/spdlog.h>

namespace dimstream {

Scheduler::Scheduler(std::string name, std::chrono::milliseconds interval, std::function<Status()> job)
    : name_(std::move(name)), interval_(interval), job_(std::move(job)) {}

void Scheduler::Trigger() {
  {
    std::lock_guard lock(mu_);
    triggered_ = true;
  }
  cv_.notify_all();
}

void Scheduler::Run(const StopSignal& stop) {
  auto next = std::chrono::steady_clock::now();
  while (!stop.Requested()) {
    {
      std::unique_lock lock(mu_);
      // Wake on a trigger, at the next tick, or every 100 ms to notice a stop request.
      while (!triggered_ && std::chrono::steady_clock::now() < next && !stop.Requested()) {
        cv_.wait_until(lock,
                       std::min(next, std::chrono::steady_clock::now() + std::chrono::milliseconds(100)));
      }
      triggered_ = false;
    }
    if (stop.Requested()) {
      break;
    }
    next = std::chrono::steady_clock::now() + interval_;
    Status st = job_();
    std::lock_guard lock(mu_);
    runs_++;
    if (!st.ok()) {
      failures_++;
      spdlog::warn("{}: {} (will run again in {} ms)", name_, st.error().message, interval_.count());
    }
  }
}

bool Scheduler::Pending() const {
  std::lock_guard lock(mu_);
  return triggered_;
}

uint64_t Scheduler::runs() const {
  std::lock_guard lock(mu_);
  return runs_;
}

uint64_t Scheduler::failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

}  // namespace dimstream
