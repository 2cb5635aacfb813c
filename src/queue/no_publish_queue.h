#pragma once

#include "queue/notification_queue.h"

namespace dimstream {

// A queue whose Publish does nothing, for a mover whose notifications are sent by someone else: the bucket
// itself (into `inner`, whose backlog the mover still holds back for), or no one (a `move` process without a
// broker: the loaders find the objects by listing the bucket). The rest goes to `inner`; without one, nothing
// is ever received and the backlog is empty.
class NoPublishQueue : public NotificationQueue {
 public:
  explicit NoPublishQueue(NotificationQueue* inner = nullptr) : inner_(inner) {}

  Status Publish(const ObjectRef&) override { return Ok(); }
  Result<std::optional<Delivery>> Receive(std::chrono::milliseconds timeout) override {
    return inner_ ? inner_->Receive(timeout) : std::optional<Delivery>();
  }
  Status Ack(const Delivery& delivery) override { return inner_ ? inner_->Ack(delivery) : Ok(); }
  Status Nack(const Delivery& delivery, std::string_view reason) override {
    return inner_ ? inner_->Nack(delivery, reason) : Ok();
  }
  Result<uint64_t> Backlog() override { return inner_ ? inner_->Backlog() : uint64_t{0}; }
  Result<uint64_t> DeadLetters() override { return inner_ ? inner_->DeadLetters() : uint64_t{0}; }
  std::string Describe() const override {
    return inner_ ? inner_->Describe() + " (notified by the bucket)" : "none (the loader lists the bucket)";
  }

 private:
  NotificationQueue* inner_;
};

}  // namespace dimstream
