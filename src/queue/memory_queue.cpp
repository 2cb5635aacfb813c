#include "queue/memory_queue.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace dimstream {

MemoryQueue::MemoryQueue(std::chrono::milliseconds visibility_timeout)
    : visibility_timeout_(visibility_timeout) {}

Status MemoryQueue::Publish(const ObjectRef& object) {
  {
    std::lock_guard lock(mu_);
    visible_.push_back(object);
  }
  visible_cv_.notify_one();
  return Ok();
}

void MemoryQueue::ExpireLocked(Clock::time_point now) {
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (it->second.visible_again <= now) {
      // To the front: it was published before everything still waiting.
      visible_.push_front(std::move(it->second.object));
      it = in_flight_.erase(it);
    } else {
      ++it;
    }
  }
}

Result<std::optional<Delivery>> MemoryQueue::Receive(std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  std::unique_lock lock(mu_);
  while (true) {
    Clock::time_point now = Clock::now();
    ExpireLocked(now);
    if (!visible_.empty()) {
      Delivery delivery{std::move(visible_.front()), next_receipt_++};
      visible_.pop_front();
      in_flight_.emplace(delivery.receipt, InFlight{delivery.object, now + visibility_timeout_});
      // Other receivers asleep until their own deadline must also wake when this one expires.
      visible_cv_.notify_all();
      return std::optional<Delivery>(std::move(delivery));
    }
    if (now >= deadline) {
      return std::optional<Delivery>();
    }
    // Wake for a publish, the deadline, or the first in-flight notification whose timeout runs out.
    Clock::time_point wake = deadline;
    for (const auto& [receipt, in_flight] : in_flight_) {
      wake = std::min(wake, in_flight.visible_again);
    }
    visible_cv_.wait_until(lock, wake);
  }
}

Status MemoryQueue::Ack(const Delivery& delivery) {
  std::lock_guard lock(mu_);
  if (in_flight_.erase(delivery.receipt) == 0) {
    return Error::NotFound(
        fmt::format("cannot acknowledge the notification of {} on {}: receipt {} is not in flight (already "
                    "acknowledged, or its visibility timeout expired and it will be delivered again)",
                    delivery.object.key.get(), Describe(), delivery.receipt));
  }
  return Ok();
}

Status MemoryQueue::Nack(const Delivery& delivery, std::string_view /*reason*/) {
  {
    std::lock_guard lock(mu_);
    auto it = in_flight_.find(delivery.receipt);
    if (it == in_flight_.end()) {
      return Error::NotFound(
          fmt::format("cannot return the notification of {} to {}: receipt {} is not in flight (already "
                      "acknowledged, or its visibility timeout expired and it will be delivered again)",
                      delivery.object.key.get(), Describe(), delivery.receipt));
    }
    visible_.push_front(std::move(it->second.object));
    in_flight_.erase(it);
  }
  visible_cv_.notify_one();
  return Ok();
}

Result<uint64_t> MemoryQueue::Backlog() {
  std::lock_guard lock(mu_);
  return static_cast<uint64_t>(visible_.size() + in_flight_.size());
}

std::string MemoryQueue::Describe() const {
  return "memory://";
}

}  // namespace dimstream
