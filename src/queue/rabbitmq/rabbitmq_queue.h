#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/error.h"
#include "common/types.h"
#include "queue/notification_queue.h"
#include "queue/rabbitmq/amqp_connection.h"

namespace dimstream {

struct RabbitMqOptions {
  AmqpEndpoint endpoint;
  // The queue of notifications: a durable quorum queue. Beside it, "<queue>.dead" holds the notifications
  // given up on.
  std::string queue = "dimstream-objects";
  // The topic exchange a bucket's own notifications come through (radosgw publishes to an exchange, with its
  // topic's name as the routing key): the queue takes what is published there under its own name. One for
  // every queue on the broker, since radosgw 16 pushes to one exchange per broker ("exchange mismatch").
  std::string exchange = "dimstream";
  // A notification returned this many times (Nack, or its consumer gone) goes to the dead-letter queue.
  uint32_t delivery_limit = 5;
  // Notifications a consumer holds unacknowledged at once.
  uint16_t prefetch = 2;
  // The bucket's folder that is dimstream's: object keys in notifications are whole keys in the bucket, and
  // a Delivery's key is relative to this folder (so it matches the object store's keys). Notifications of
  // objects outside it, or of another bucket when `bucket` is set, are acknowledged and passed over.
  std::string bucket;
  std::string key_prefix;
};

// The NotificationQueue port on RabbitMQ (librabbitmq): a durable quorum queue, publisher confirms, and the
// contract of the port: a delivery is settled only by Ack (after its load committed) or Nack; one whose
// consumer dies returns to the queue when its connection closes. RabbitMQ counts returns: a notification
// returned `delivery_limit` times is dead-lettered to "<queue>.dead" by the broker itself, and one that
// cannot be read at all (not an S3 event notification) is sent there at once, both logged with the reason.
//
// The message body is an S3 event notification (object_event.h), the same whether the mover published it or
// the bucket did. Thread-safe: publishing and consuming use a connection each, reconnected when a call finds
// it broken (a broker restart); deliveries received on a connection that has since closed are redelivered by
// the broker, and their Ack or Nack reports kNotFound.
class RabbitMqQueue : public NotificationQueue {
 public:
  // Connects nowhere yet: the first call that needs the broker does, so that a process can start before
  // its broker.
  explicit RabbitMqQueue(RabbitMqOptions options);
  // Connects and declares the queues and the exchange (idempotent: every process does it). kRetryable when
  // the broker is away; kPermanent when it refuses the login or the queue exists with other arguments (a
  // different delivery limit, a classic queue).
  Status Connect();
  // A queue, connected.
  static Result<std::unique_ptr<RabbitMqQueue>> Open(RabbitMqOptions options);

  // Publishes a persistent notification and waits for the broker's confirm. kRetryable when the broker is
  // away (after one reconnection).
  Status Publish(const ObjectRef& object) override;
  Result<std::optional<Delivery>> Receive(std::chrono::milliseconds timeout) override;
  Status Ack(const Delivery& delivery) override;
  Status Nack(const Delivery& delivery, std::string_view reason) override;
  // Messages ready in the queue plus those this process holds unacknowledged (other consumers' are not seen).
  Result<uint64_t> Backlog() override;
  // "amqp://host:port/vhost queue dimstream-objects".
  std::string Describe() const override;

  // Messages in "<queue>.dead".
  Result<uint64_t> DeadLetters() override;

 private:
  // A delivery received and not yet settled.
  struct Held {
    int64_t returns = 0;  // times returned before this delivery (x-delivery-count)
  };

  // Declares the topology on `c`.
  Status Declare(AmqpConnection& c);
  // The publishing connection, opened or reopened as needed, in confirm mode. Needs pub_mu_.
  Result<AmqpConnection*> Publisher();
  // The consuming connection, consuming. Needs con_mu_.
  Result<AmqpConnection*> Consumer();
  Status PublishOnce(AmqpConnection& c, std::string_view exchange, std::string_view routing_key,
                     std::string_view body);
  // The queue's ready messages. Needs pub_mu_.
  Result<uint64_t> ReadyCount(const std::string& queue);
  // Settles a delivery with `settle` (ack, nack or reject) if it is from the current consumer connection.
  Status Settle(const Delivery& delivery, std::string_view verb,
                const std::function<int(amqp_connection_state_t, uint64_t)>& settle);
  // A delivered message turned into a Delivery: nullopt when it was passed over (acknowledged) or
  // dead-lettered. Needs con_mu_.
  Result<std::optional<Delivery>> Accept(AmqpConnection& c, const amqp_envelope_t& envelope);

  const RabbitMqOptions options_;
  std::mutex pub_mu_;
  std::unique_ptr<AmqpConnection> pub_;
  uint64_t published_ = 0;  // confirms expected on pub_'s channel
  std::mutex con_mu_;
  std::unique_ptr<AmqpConnection> con_;
  uint64_t generation_ = 0;  // of con_: a receipt is generation << 40 | delivery tag
  std::map<uint64_t, Held> held_;
};

}  // namespace dimstream
