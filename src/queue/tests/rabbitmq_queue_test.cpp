#include "queue/rabbitmq/rabbitmq_queue.h"

#include <unistd.h>

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/testing/test_server.h"
#include "queue/object_event.h"

// Against a real RabbitMQ, started for the test run by scripts/servers/rabbitmq.sh (the CTest fixture
// `rabbitmq`). Every test uses queues of its own, so that they can run at the same time.
namespace dimstream {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kLong = seconds(30);

class RabbitMqQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    url_ = test_support::TestServerValue("rabbitmq", "url", &why);
    ASSERT_FALSE(url_.empty()) << why;
    queue_ = fmt::format("test-{}-{}", ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                         ::getpid());
  }

  RabbitMqOptions Options() const {
    RabbitMqOptions options;
    options.endpoint.url = url_;
    options.endpoint.timeout = seconds(10);
    options.queue = queue_;
    options.delivery_limit = 2;
    options.bucket = "bucket";
    options.key_prefix = "incoming/";
    return options;
  }

  std::unique_ptr<RabbitMqQueue> Open(RabbitMqOptions options) {
    auto q = RabbitMqQueue::Open(std::move(options));
    EXPECT_TRUE(q.ok()) << q.error().message;
    return q.ok() ? std::move(*q) : nullptr;
  }
  std::unique_ptr<RabbitMqQueue> Open() { return Open(Options()); }

  // Publishes `body` as is to `exchange` (the queue's own through the default exchange when empty), the way
  // another program (radosgw) would.
  void PublishRaw(const std::string& body, const std::string& exchange = "", const std::string& key = "") {
    AmqpEndpoint endpoint;
    endpoint.url = url_;
    auto c = AmqpConnection::Open(endpoint);
    ASSERT_TRUE(c.ok()) << c.error().message;
    amqp_confirm_select((*c)->state(), AmqpConnection::kChannel);
    ASSERT_TRUE((*c)->CheckLast("confirm").ok());
    amqp_basic_properties_t props{};
    ASSERT_EQ(amqp_basic_publish((*c)->state(), AmqpConnection::kChannel, AmqpBytes(exchange),
                                 AmqpBytes(key.empty() ? queue_ : key), 0, 0, &props, AmqpBytes(body)),
              AMQP_STATUS_OK);
    // Wait for the confirm, so that the message is in the queue when this returns.
    amqp_frame_t frame{};
    ASSERT_EQ(amqp_simple_wait_frame((*c)->state(), &frame), AMQP_STATUS_OK);
    EXPECT_EQ(frame.payload.method.id, AMQP_BASIC_ACK_METHOD);
  }

  std::string url_;
  std::string queue_;
};

ObjectRef Ref(const std::string& key, uint64_t size = 10) {
  return ObjectRef{ObjectKey(key), size, Checksum("")};
}

Delivery MustReceive(RabbitMqQueue& queue) {
  auto got = queue.Receive(kLong);
  EXPECT_TRUE(got.ok()) << got.error().message;
  if (!got.ok() || !got->has_value()) {
    ADD_FAILURE() << "nothing received";
    return Delivery{};
  }
  return **got;
}

// Dead-lettering happens in the broker after the settle: waits for it (up to kLong).
uint64_t DeadLettersSoon(RabbitMqQueue& queue, uint64_t expected) {
  const auto deadline = std::chrono::steady_clock::now() + kLong;
  uint64_t dead = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    auto n = queue.DeadLetters();
    EXPECT_TRUE(n.ok()) << n.error().message;
    dead = n.ok() ? *n : 0;
    if (dead >= expected) {
      break;
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  return dead;
}

void ExpectNothing(RabbitMqQueue& queue, milliseconds wait = milliseconds(300)) {
  auto got = queue.Receive(wait);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_FALSE(got->has_value()) << "received " << (*got)->object.key.get();
}

TEST_F(RabbitMqQueueTest, DeliversWhatIsPublishedInOrderUntilAcknowledged) {
  auto q = Open();
  ASSERT_NE(q, nullptr);
  for (const char* key : {"a.csv", "b.csv", "c.csv"}) {
    ASSERT_TRUE(q->Publish(Ref(key, 7)).ok());
  }
  EXPECT_EQ(q->Backlog().value(), 3u);
  for (const char* key : {"a.csv", "b.csv", "c.csv"}) {
    Delivery d = MustReceive(*q);
    EXPECT_EQ(d.object.key.get(), key);
    EXPECT_EQ(d.object.size, 7u);
    Status acked = q->Ack(d);
    EXPECT_TRUE(acked.ok()) << acked.error().message;
    // Acknowledging twice is refused: the receipt is settled.
    EXPECT_EQ(q->Ack(d).error().kind, ErrorKind::kNotFound);
  }
  ExpectNothing(*q);
  EXPECT_EQ(q->Backlog().value(), 0u);
  EXPECT_EQ(q->DeadLetters().value(), 0u);
  EXPECT_NE(q->Describe().find(queue_), std::string::npos);
}

TEST_F(RabbitMqQueueTest, ANotificationWhoseConsumerDiesIsDeliveredAgain) {
  {
    auto first = Open();
    ASSERT_NE(first, nullptr);
    ASSERT_TRUE(first->Publish(Ref("a.csv")).ok());
    Delivery d = MustReceive(*first);
    EXPECT_EQ(d.object.key.get(), "a.csv");
    EXPECT_EQ(first->Backlog().value(), 1u);  // held, not acknowledged
  }                                           // closed without Ack: the broker takes the message back
  auto second = Open();
  ASSERT_NE(second, nullptr);
  Delivery again = MustReceive(*second);
  EXPECT_EQ(again.object.key.get(), "a.csv");
  ASSERT_TRUE(second->Ack(again).ok());
  ExpectNothing(*second);
}

TEST_F(RabbitMqQueueTest, CompetingConsumersEachGetDifferentNotifications) {
  auto publisher = Open();
  ASSERT_NE(publisher, nullptr);
  constexpr int kCount = 60;
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(publisher->Publish(Ref(fmt::format("f{:03}.csv", i))).ok());
  }
  std::mutex mu;
  std::multiset<std::string> seen;
  auto consume = [&] {
    auto q = Open();
    ASSERT_NE(q, nullptr);
    while (true) {
      auto got = q->Receive(milliseconds(1500));
      ASSERT_TRUE(got.ok()) << got.error().message;
      if (!got->has_value()) {
        return;
      }
      std::this_thread::sleep_for(milliseconds(2));  // a load
      ASSERT_TRUE(q->Ack(**got).ok());
      std::lock_guard lock(mu);
      seen.insert((*got)->object.key.get());
    }
  };
  std::vector<std::thread> consumers;
  for (int i = 0; i < 3; ++i) {
    consumers.emplace_back(consume);
  }
  for (auto& t : consumers) {
    t.join();
  }
  ASSERT_EQ(seen.size(), static_cast<size_t>(kCount));
  for (int i = 0; i < kCount; ++i) {
    EXPECT_EQ(seen.count(fmt::format("f{:03}.csv", i)), 1u) << i;
  }
}

TEST_F(RabbitMqQueueTest, ANotificationReturnedPastTheLimitGoesToTheDeadLetterQueue) {
  auto q = Open();  // delivery_limit 2
  ASSERT_NE(q, nullptr);
  ASSERT_TRUE(q->Publish(Ref("poison.csv")).ok());
  ASSERT_TRUE(q->Publish(Ref("good.csv")).ok());
  int poison_deliveries = 0;
  while (true) {
    auto got = q->Receive(seconds(2));
    ASSERT_TRUE(got.ok()) << got.error().message;
    if (!got->has_value()) {
      break;
    }
    if ((*got)->object.key.get() == "good.csv") {
      ASSERT_TRUE(q->Ack(**got).ok());
      continue;
    }
    ++poison_deliveries;
    ASSERT_LE(poison_deliveries, 10) << "the notification loops";
    ASSERT_TRUE(q->Nack(**got, "the load failed").ok());
  }
  // The first delivery and `delivery_limit` returns.
  EXPECT_EQ(poison_deliveries, 3);
  EXPECT_EQ(DeadLettersSoon(*q, 1), 1u);
  EXPECT_EQ(q->Backlog().value(), 0u);
}

TEST_F(RabbitMqQueueTest, AMessageThatIsNotANotificationIsDeadLetteredAtOnce) {
  auto q = Open();
  ASSERT_NE(q, nullptr);
  PublishRaw("this is not JSON");
  ASSERT_TRUE(q->Publish(Ref("after.csv")).ok());
  Delivery d = MustReceive(*q);  // the bad one is passed over
  EXPECT_EQ(d.object.key.get(), "after.csv");
  ASSERT_TRUE(q->Ack(d).ok());
  EXPECT_EQ(DeadLettersSoon(*q, 1), 1u);
}

TEST_F(RabbitMqQueueTest, ReadsTheBucketsOwnNotificationsFromItsExchange) {
  auto q = Open();
  ASSERT_NE(q, nullptr);
  auto event = [](std::string name, std::string bucket, std::string key) {
    return EncodeObjectEvent(ObjectEvent{"ceph:s3", std::move(name), std::move(bucket), std::move(key), 5});
  };
  // radosgw publishes to the exchange named in its topic, with the topic's name (the queue's) as the routing
  // key; the notifications of another queue's topic go elsewhere.
  PublishRaw(event("ObjectCreated:Put", "bucket", "incoming/not-ours.csv"), "dimstream", "another-queue");
  PublishRaw(event("ObjectCreated:Put", "bucket", "outside/x.csv"), "dimstream", queue_);
  PublishRaw(event("ObjectRemoved:Delete", "bucket", "incoming/gone.csv"), "dimstream", queue_);
  PublishRaw(event("ObjectCreated:Put", "other-bucket", "incoming/theirs.csv"), "dimstream", queue_);
  PublishRaw(R"({"Service":"Amazon S3","Event":"s3:TestEvent"})", "dimstream", queue_);
  PublishRaw(event("ObjectCreated:CompleteMultipartUpload", "bucket", "incoming/big.csv"), "dimstream",
             queue_);
  Delivery d = MustReceive(*q);
  EXPECT_EQ(d.object.key.get(), "big.csv");  // relative to the prefix, as the object store names it
  EXPECT_EQ(d.object.size, 5u);
  ASSERT_TRUE(q->Ack(d).ok());
  ExpectNothing(*q);
  EXPECT_EQ(q->Backlog().value(), 0u);
  EXPECT_EQ(q->DeadLetters().value(), 0u);
}

TEST_F(RabbitMqQueueTest, ANotificationOfSeveralObjectsBecomesOneDeliveryEach) {
  auto q = Open();
  ASSERT_NE(q, nullptr);
  PublishRaw(R"({"Records":[
    {"eventSource":"ceph:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"bucket"},"object":{"key":"incoming/1.csv"}}},
    {"eventSource":"ceph:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"bucket"},"object":{"key":"incoming/2.csv"}}}]})");
  std::set<std::string> keys;
  for (int i = 0; i < 2; ++i) {
    Delivery d = MustReceive(*q);
    keys.insert(d.object.key.get());
    ASSERT_TRUE(q->Ack(d).ok());
  }
  EXPECT_EQ(keys, (std::set<std::string>{"1.csv", "2.csv"}));
  ExpectNothing(*q);
}

TEST_F(RabbitMqQueueTest, AQueueDeclaredWithOtherArgumentsIsAPermanentError) {
  ASSERT_NE(Open(), nullptr);
  RabbitMqOptions other = Options();
  other.delivery_limit = 7;
  auto q = RabbitMqQueue::Open(other);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.error().kind, ErrorKind::kPermanent) << q.error().message;
  EXPECT_NE(q.error().message.find(queue_), std::string::npos) << q.error().message;
}

TEST_F(RabbitMqQueueTest, ARefusedLoginIsPermanentAndTheMessageHoldsNoPassword) {
  RabbitMqOptions options = Options();
  options.endpoint.user = "guest";
  options.endpoint.password = "not-the-password-s3cr3t";
  auto q = RabbitMqQueue::Open(options);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.error().kind, ErrorKind::kPermanent) << q.error().message;
  EXPECT_EQ(q.error().message.find("s3cr3t"), std::string::npos) << q.error().message;
}

TEST_F(RabbitMqQueueTest, TlsVerifiesTheBrokerAgainstTheGivenAuthority) {
  std::string why;
  RabbitMqOptions options = Options();
  options.endpoint.url = test_support::TestServerValue("rabbitmq", "tls_url", &why);
  ASSERT_FALSE(options.endpoint.url.empty()) << why;
  ASSERT_TRUE(options.endpoint.url.starts_with("amqps://")) << options.endpoint.url;
  options.endpoint.ca_file = test_support::TestServerFile("rabbitmq", "tls/ca.pem").string();
  auto q = Open(options);
  ASSERT_NE(q, nullptr);
  ASSERT_TRUE(q->Publish(Ref("over-tls.csv")).ok());
  Delivery d = MustReceive(*q);
  EXPECT_EQ(d.object.key.get(), "over-tls.csv");
  ASSERT_TRUE(q->Ack(d).ok());

  // The broker's certificate is signed by the test's own authority, which the system does not know.
  options.endpoint.ca_file.clear();
  auto unknown = RabbitMqQueue::Open(options);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().kind, ErrorKind::kPermanent) << unknown.error().message;
  EXPECT_NE(unknown.error().message.find("queue.ca_file"), std::string::npos) << unknown.error().message;
}

TEST_F(RabbitMqQueueTest, ABrokerThatIsNotThereIsRetryable) {
  RabbitMqOptions options = Options();
  options.endpoint.url = "amqp://127.0.0.1:1/%2F";
  options.endpoint.timeout = seconds(2);
  auto q = RabbitMqQueue::Open(options);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.error().kind, ErrorKind::kRetryable) << q.error().message;
}

}  // namespace
}  // namespace dimstream
