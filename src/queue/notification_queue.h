#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/types.h"

namespace dimstream {

// A received notification. `receipt` identifies this delivery for Ack and Nack.
struct Delivery {
  ObjectRef object;
  uint64_t receipt = 0;
};

// Port: the notification queue (S3 event -> SQS in the seed). At-least-once: a delivery that is neither
// acknowledged nor negatively acknowledged comes back after the visibility timeout, so a consumer that
// dies loses nothing; consumers must therefore be idempotent (the loader is, by key and checksum).
// Thread-safe: the mover publishes from its thread, the loader receives from another.
class NotificationQueue {
 public:
  virtual ~NotificationQueue() = default;

  virtual Status Publish(const ObjectRef& object) = 0;

  // Waits up to `timeout` for a notification; std::nullopt when none came.
  virtual Result<std::optional<Delivery>> Receive(std::chrono::milliseconds timeout) = 0;

  // The notification's data is delivered: delete it.
  virtual Status Ack(const Delivery& delivery) = 0;

  // Not delivered, retry later: make it visible again at once. `reason` says why, for the log (a queue that
  // gives up on a notification after some tries says so with it).
  virtual Status Nack(const Delivery& delivery, std::string_view reason) = 0;

  // Notifications published and not yet acknowledged (the loader's backlog, for back-pressure).
  virtual Result<uint64_t> Backlog() = 0;

  // Notifications given up on and set aside (a dead-letter queue); a queue that never gives up has none.
  virtual Result<uint64_t> DeadLetters() { return uint64_t{0}; }

  // Where the queue is, for messages and `status`. Never credentials.
  virtual std::string Describe() const = 0;
};

}  // namespace dimstream
