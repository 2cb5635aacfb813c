#include "queue/rabbitmq/rabbitmq_queue.h"

#include <sys/time.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "queue/object_event.h"

namespace dimstream {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kReceiptTagBits = 40;
constexpr std::chrono::milliseconds kReceiveSlice(100);

timeval Until(Clock::time_point deadline, std::chrono::milliseconds at_most) {
  auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
  left = std::clamp(left, std::chrono::microseconds(0), std::chrono::microseconds(at_most));
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(left.count() / 1000000);
  tv.tv_usec = static_cast<suseconds_t>(left.count() % 1000000);
  return tv;
}

// A close the broker sent as a frame, as the reply AmqpConnection::Check reads.
amqp_rpc_reply_t ServerClose(const amqp_frame_t& frame) {
  amqp_rpc_reply_t reply{};
  reply.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION;
  reply.reply = frame.payload.method;
  return reply;
}

bool IsClose(const amqp_frame_t& frame) {
  return frame.frame_type == AMQP_FRAME_METHOD && (frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
                                                   frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD);
}

}  // namespace

RabbitMqQueue::RabbitMqQueue(RabbitMqOptions options) : options_(std::move(options)) {}

Status RabbitMqQueue::Connect() {
  std::lock_guard lock(pub_mu_);
  auto c = Publisher();
  if (!c.ok()) {
    return c.error();
  }
  return Ok();
}

Result<std::unique_ptr<RabbitMqQueue>> RabbitMqQueue::Open(RabbitMqOptions options) {
  auto q = std::make_unique<RabbitMqQueue>(std::move(options));
  DIMSTREAM_TRY(q->Connect());
  return q;
}

Status RabbitMqQueue::Declare(AmqpConnection& c) {
  const std::string dead = options_.queue + ".dead";
  AmqpTable args;
  args.Add("x-queue-type", "quorum");
  args.Add("x-delivery-limit", static_cast<int64_t>(options_.delivery_limit));
  args.Add("x-dead-letter-exchange", "");
  args.Add("x-dead-letter-routing-key", dead);
  amqp_queue_declare(c.state(), AmqpConnection::kChannel, AmqpBytes(options_.queue), 0, 1, 0, 0,
                     args.table());
  DIMSTREAM_TRY(c.CheckLast(fmt::format("declare the queue {}", options_.queue)));
  AmqpTable dead_args;
  dead_args.Add("x-queue-type", "quorum");
  amqp_queue_declare(c.state(), AmqpConnection::kChannel, AmqpBytes(dead), 0, 1, 0, 0, dead_args.table());
  DIMSTREAM_TRY(c.CheckLast(fmt::format("declare the queue {}", dead)));
  amqp_exchange_declare(c.state(), AmqpConnection::kChannel, AmqpBytes(options_.exchange),
                        amqp_cstring_bytes("topic"), 0, 1, 0, 0, amqp_empty_table);
  DIMSTREAM_TRY(c.CheckLast(fmt::format("declare the exchange {}", options_.exchange)));
  amqp_queue_bind(c.state(), AmqpConnection::kChannel, AmqpBytes(options_.queue),
                  AmqpBytes(options_.exchange), AmqpBytes(options_.queue), amqp_empty_table);
  return c.CheckLast(fmt::format("bind the queue {} to the exchange {}", options_.queue, options_.exchange));
}

Result<AmqpConnection*> RabbitMqQueue::Publisher() {
  if (pub_ != nullptr && !pub_->broken()) {
    return pub_.get();
  }
  pub_.reset();
  auto c = AmqpConnection::Open(options_.endpoint);
  if (!c.ok()) {
    return c.error();
  }
  DIMSTREAM_TRY(Declare(**c));
  amqp_confirm_select((*c)->state(), AmqpConnection::kChannel);
  DIMSTREAM_TRY((*c)->CheckLast("turn on publisher confirms"));
  pub_ = std::move(*c);
  published_ = 0;
  return pub_.get();
}

Result<AmqpConnection*> RabbitMqQueue::Consumer() {
  if (con_ != nullptr && !con_->broken()) {
    return con_.get();
  }
  // Whatever the old connection held goes back to the queue with it; its receipts are void.
  con_.reset();
  held_.clear();
  auto c = AmqpConnection::Open(options_.endpoint);
  if (!c.ok()) {
    return c.error();
  }
  amqp_connection_state_t state = (*c)->state();
  DIMSTREAM_TRY(Declare(**c));
  amqp_basic_qos(state, AmqpConnection::kChannel, 0, options_.prefetch, 0);
  DIMSTREAM_TRY((*c)->CheckLast("set the prefetch count"));
  amqp_basic_consume(state, AmqpConnection::kChannel, AmqpBytes(options_.queue), amqp_empty_bytes, 0, 0, 0,
                     amqp_empty_table);
  DIMSTREAM_TRY((*c)->CheckLast(fmt::format("consume from {}", options_.queue)));
  con_ = std::move(*c);
  ++generation_;
  return con_.get();
}

Status RabbitMqQueue::PublishOnce(AmqpConnection& c, std::string_view exchange, std::string_view routing_key,
                                  std::string_view body) {
  amqp_basic_properties_t props{};
  props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
  props.content_type = amqp_cstring_bytes("application/json");
  props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
  // Mandatory: a message no queue takes comes back (basic.return) instead of vanishing.
  DIMSTREAM_TRY(c.CheckStatus(amqp_basic_publish(c.state(), AmqpConnection::kChannel, AmqpBytes(exchange),
                                                 AmqpBytes(routing_key), 1, 0, &props, AmqpBytes(body)),
                              "publish"));
  const uint64_t seq = ++published_;
  const Clock::time_point deadline = Clock::now() + options_.endpoint.timeout;
  bool returned = false;
  while (true) {
    if (Clock::now() >= deadline) {
      return c.Break(Error::Retryable(fmt::format("the broker at {} did not confirm a publish within {} ms",
                                                  c.where(), options_.endpoint.timeout.count())));
    }
    timeval tv = Until(deadline, options_.endpoint.timeout);
    amqp_frame_t frame{};
    int status = amqp_simple_wait_frame_noblock(c.state(), &frame, &tv);
    if (status == AMQP_STATUS_TIMEOUT) {
      continue;
    }
    DIMSTREAM_TRY(c.CheckStatus(status, "wait for the publish confirm"));
    if (IsClose(frame)) {
      return c.Check(ServerClose(frame), "publish");
    }
    if (frame.frame_type != AMQP_FRAME_METHOD) {
      continue;  // the header and body of a returned message
    }
    const amqp_method_t& method = frame.payload.method;
    if (method.id == AMQP_BASIC_RETURN_METHOD) {
      returned = true;
      continue;
    }
    if (method.id != AMQP_BASIC_ACK_METHOD && method.id != AMQP_BASIC_NACK_METHOD) {
      continue;
    }
    // A confirm of a tag at or past ours covers ours (with `multiple`, every tag up to it).
    const uint64_t tag = method.id == AMQP_BASIC_ACK_METHOD
                             ? static_cast<const amqp_basic_ack_t*>(method.decoded)->delivery_tag
                             : static_cast<const amqp_basic_nack_t*>(method.decoded)->delivery_tag;
    if (tag < seq) {
      continue;  // an earlier publish's
    }
    if (method.id == AMQP_BASIC_NACK_METHOD) {
      return Error::Retryable(fmt::format("the broker at {} did not take a notification", c.where()));
    }
    if (returned) {
      // No queue took it: the queue was deleted under us. Declaring again on a new connection fixes that.
      return c.Break(
          Error::Retryable(fmt::format("no queue {} on {} took a notification", options_.queue, c.where())));
    }
    return Ok();
  }
}

Status RabbitMqQueue::Publish(const ObjectRef& object) {
  ObjectEvent event{"dimstream:mover", "ObjectCreated:Put", options_.bucket,
                    options_.key_prefix + object.key.get(), object.size};
  const std::string body = EncodeObjectEvent(event);
  std::lock_guard lock(pub_mu_);
  // A connection that went quiet past its heartbeat is found dead only now: one more try on a new one.
  Status last = Ok();
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto c = Publisher();
    if (!c.ok()) {
      return c.error().Context(fmt::format("cannot publish the notification of {}", object.key.get()));
    }
    last = PublishOnce(**c, "", options_.queue, body);
    if (last.ok() || !(*c)->broken()) {
      break;
    }
  }
  if (!last.ok()) {
    return last.error().Context(fmt::format("cannot publish the notification of {}", object.key.get()));
  }
  return Ok();
}

Result<std::optional<Delivery>> RabbitMqQueue::Accept(AmqpConnection& c, const amqp_envelope_t& envelope) {
  const uint64_t tag = envelope.delivery_tag;
  const std::string_view body = AmqpView(envelope.message.body);
  auto events = DecodeObjectEvents(body);
  auto settle = [&](bool ack) {
    int rc = ack ? amqp_basic_ack(c.state(), AmqpConnection::kChannel, tag, 0)
                 : amqp_basic_reject(c.state(), AmqpConnection::kChannel, tag, 0);
    return c.CheckStatus(rc, ack ? "acknowledge a notification" : "dead-letter a notification");
  };
  if (!events.ok()) {
    spdlog::warn("queue {}: a message that is not an object notification goes to {}.dead: {}", options_.queue,
                 options_.queue, events.error().message);
    DIMSTREAM_TRY(settle(false));
    return std::optional<Delivery>();
  }
  if (events->size() > 1) {
    // One delivery per object: each record goes back to the queue as a message of its own.
    std::lock_guard lock(pub_mu_);
    for (const ObjectEvent& event : *events) {
      auto p = Publisher();
      Status published = p.ok() ? PublishOnce(**p, "", options_.queue, EncodeObjectEvent(event)) : p.error();
      if (!published.ok()) {
        (void)amqp_basic_nack(c.state(), AmqpConnection::kChannel, tag, 0, 1);
        return published.error();
      }
    }
    DIMSTREAM_TRY(settle(true));
    return std::optional<Delivery>();
  }
  const ObjectEvent* event = events->empty() ? nullptr : &events->front();
  const bool ours = event != nullptr && event->Created() && event->key.starts_with(options_.key_prefix) &&
                    event->key.size() > options_.key_prefix.size() &&
                    (options_.bucket.empty() || event->bucket.empty() || event->bucket == options_.bucket);
  if (!ours) {
    spdlog::debug("queue {}: passed over a notification that is not of a new object under {}/{}: {}",
                  options_.queue, options_.bucket, options_.key_prefix, body);
    DIMSTREAM_TRY(settle(true));
    return std::optional<Delivery>();
  }
  Delivery delivery;
  delivery.object.key = ObjectKey(event->key.substr(options_.key_prefix.size()));
  delivery.object.size = event->size;
  delivery.receipt = (generation_ << kReceiptTagBits) | tag;
  held_[delivery.receipt] =
      Held{std::max<int64_t>(0, AmqpIntegerHeader(envelope.message.properties, "x-delivery-count"))};
  return std::optional<Delivery>(std::move(delivery));
}

Result<std::optional<Delivery>> RabbitMqQueue::Receive(std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (true) {
    // The lock is let go between slices so that Ack and Backlog from other threads are not kept waiting.
    std::lock_guard lock(con_mu_);
    auto c = Consumer();
    if (!c.ok()) {
      return c.error();
    }
    amqp_connection_state_t state = (*c)->state();
    amqp_maybe_release_buffers(state);
    timeval tv = Until(deadline, kReceiveSlice);
    amqp_envelope_t envelope{};
    amqp_rpc_reply_t reply = amqp_consume_message(state, &envelope, &tv, 0);
    if (reply.reply_type == AMQP_RESPONSE_NORMAL) {
      auto delivery = Accept(**c, envelope);
      amqp_destroy_envelope(&envelope);
      if (!delivery.ok() || delivery->has_value()) {
        return delivery;
      }
      continue;
    }
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_TIMEOUT) {
      if (Clock::now() >= deadline) {
        return std::optional<Delivery>();
      }
      continue;
    }
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        reply.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
      // Something else than a delivery: a close, or the broker cancelling the consumer (queue deleted).
      amqp_frame_t frame{};
      DIMSTREAM_TRY((*c)->CheckStatus(amqp_simple_wait_frame(state, &frame), "receive"));
      if (IsClose(frame)) {
        return (*c)->Check(ServerClose(frame), "receive").error();  // a close is never a success
      }
      if (frame.frame_type == AMQP_FRAME_METHOD && frame.payload.method.id == AMQP_BASIC_CANCEL_METHOD) {
        return (*c)->Break(Error::Retryable(
            fmt::format("the broker at {} cancelled the consumer of {}", (*c)->where(), options_.queue)));
      }
      continue;
    }
    return (*c)->Check(reply, "receive").error();  // not AMQP_RESPONSE_NORMAL: never a success
  }
}

Status RabbitMqQueue::Settle(const Delivery& delivery, std::string_view verb,
                             const std::function<int(amqp_connection_state_t, uint64_t)>& settle) {
  std::lock_guard lock(con_mu_);
  auto held = held_.find(delivery.receipt);
  if (con_ == nullptr || con_->broken() || (delivery.receipt >> kReceiptTagBits) != generation_ ||
      held == held_.end()) {
    return Error::NotFound(fmt::format(
        "cannot {} the notification of {} on {}: its connection closed since, and the broker delivers it "
        "again",
        verb, delivery.object.key.get(), Describe()));
  }
  held_.erase(held);
  const uint64_t tag = delivery.receipt & ((uint64_t{1} << kReceiptTagBits) - 1);
  return con_->CheckStatus(settle(con_->state(), tag), fmt::format("{} a notification", verb));
}

Status RabbitMqQueue::Ack(const Delivery& delivery) {
  return Settle(delivery, "acknowledge", [](amqp_connection_state_t state, uint64_t tag) {
    return amqp_basic_ack(state, AmqpConnection::kChannel, tag, 0);
  });
}

Status RabbitMqQueue::Nack(const Delivery& delivery, std::string_view reason) {
  int64_t returns = 0;
  {
    std::lock_guard lock(con_mu_);
    if (auto held = held_.find(delivery.receipt); held != held_.end()) {
      returns = held->second.returns;
    }
  }
  // The broker dead-letters a notification returned more than x-delivery-limit times.
  if (returns + 1 > static_cast<int64_t>(options_.delivery_limit)) {
    spdlog::warn("queue {}: the notification of {} goes to {}.dead after {} deliveries: {}", options_.queue,
                 delivery.object.key.get(), options_.queue, returns + 1, reason);
  } else {
    spdlog::info("queue {}: the notification of {} returns to the queue (delivery {} of {}): {}",
                 options_.queue, delivery.object.key.get(), returns + 1, options_.delivery_limit + 1, reason);
  }
  return Settle(delivery, "return", [](amqp_connection_state_t state, uint64_t tag) {
    return amqp_basic_nack(state, AmqpConnection::kChannel, tag, 0, 1);
  });
}

Result<uint64_t> RabbitMqQueue::ReadyCount(const std::string& queue) {
  Result<uint64_t> last = Error::Retryable("not asked");
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto c = Publisher();
    if (!c.ok()) {
      return c.error();
    }
    auto* ok = amqp_queue_declare((*c)->state(), AmqpConnection::kChannel, AmqpBytes(queue), 1, 0, 0, 0,
                                  amqp_empty_table);
    Status checked = (*c)->CheckLast(fmt::format("count the messages of {}", queue));
    if (checked.ok()) {
      return static_cast<uint64_t>(ok->message_count);
    }
    last = checked.error();
  }
  return last;
}

Result<uint64_t> RabbitMqQueue::Backlog() {
  uint64_t ready = 0;
  {
    std::lock_guard lock(pub_mu_);
    auto r = ReadyCount(options_.queue);
    if (!r.ok()) {
      return r.error();
    }
    ready = *r;
  }
  std::lock_guard lock(con_mu_);
  return ready + held_.size();
}

Result<uint64_t> RabbitMqQueue::DeadLetters() {
  std::lock_guard lock(pub_mu_);
  return ReadyCount(options_.queue + ".dead");
}

std::string RabbitMqQueue::Describe() const {
  return fmt::format("{} queue {}", options_.endpoint.url, options_.queue);
}

}  // namespace dimstream
