#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/error.h"
#include "common/types.h"
#include "queue/notification_queue.h"

namespace dimstream {

// The notification queue inside one process: the default adapter of the NotificationQueue port, with
// the delivery rules of SQS. A received notification is in flight until it is acknowledged (deleted) or
// negatively acknowledged (visible again at once); one left in flight longer than the visibility timeout
// becomes visible again by itself, under a new receipt, so a consumer that dies loses nothing.
//
// Owns the notifications; they live as long as the object (nothing survives a restart: after one, the
// loader finds what it missed by listing the bucket). Thread-safe: the mover publishes from its thread,
// the loader receives, acknowledges and asks for the backlog from others.
class MemoryQueue : public NotificationQueue {
 public:
  explicit MemoryQueue(std::chrono::milliseconds visibility_timeout = std::chrono::seconds(30));

  Status Publish(const ObjectRef& object) override;
  // Blocks up to `timeout` for a visible notification.
  Result<std::optional<Delivery>> Receive(std::chrono::milliseconds timeout) override;
  // kNotFound when the receipt is not in flight: already acknowledged, or its visibility timeout expired
  // and the notification is visible again (it will be delivered again under another receipt).
  Status Ack(const Delivery& delivery) override;
  Status Nack(const Delivery& delivery, std::string_view reason) override;
  // Visible plus in flight.
  Result<uint64_t> Backlog() override;
  // "memory://".
  std::string Describe() const override;

 private:
  using Clock = std::chrono::steady_clock;

  struct InFlight {
    ObjectRef object;
    Clock::time_point visible_again;
  };

  // Moves every expired in-flight notification back to the front of the visible ones. Needs mu_.
  void ExpireLocked(Clock::time_point now);

  const std::chrono::milliseconds visibility_timeout_;
  std::mutex mu_;
  std::condition_variable visible_cv_;  // signalled when a notification becomes visible
  std::deque<ObjectRef> visible_;
  std::map<uint64_t, InFlight> in_flight_;  // by receipt
  uint64_t next_receipt_ = 1;
};

}  // namespace dimstream
