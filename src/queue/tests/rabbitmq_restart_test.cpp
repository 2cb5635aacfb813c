#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/testing/test_dir.h"
#include "queue/rabbitmq/rabbitmq_queue.h"

// A broker restart under a publisher and a consumer, on a RabbitMQ of this test's own (started and
// restarted with scripts/servers/rabbitmq.sh): the shared one of the other tests must not go away under them.
namespace dimstream {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class Broker {
 public:
  explicit Broker(std::filesystem::path dir) : dir_(std::move(dir)) {}
  ~Broker() { (void)Run("stop"); }
  bool Run(const std::string& command) const {
    std::string line =
        fmt::format("{}/servers/rabbitmq.sh {} {} >/dev/null", DIMSTREAM_SCRIPTS, command, dir_.string());
    return std::system(line.c_str()) == 0;
  }
  std::string Url() const {
    std::ifstream in(dir_ / "url");
    std::string url;
    std::getline(in, url);
    return url;
  }

 private:
  std::filesystem::path dir_;
};

TEST(queue_rabbitmq_restart, NothingPublishedIsLostAndWhatWasHeldComesBack) {
  test_support::TestDir dir("rabbitmq_restart");
  Broker broker(dir.path() / "broker");
  ASSERT_TRUE(broker.Run("start"));
  RabbitMqOptions options;
  options.endpoint.url = broker.Url();
  options.endpoint.timeout = seconds(5);
  auto opened = RabbitMqQueue::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  RabbitMqQueue& q = **opened;
  ASSERT_TRUE(q.Publish(ObjectRef{ObjectKey("a.csv"), 1, {}}).ok());
  ASSERT_TRUE(q.Publish(ObjectRef{ObjectKey("b.csv"), 1, {}}).ok());
  auto held = q.Receive(seconds(30));
  ASSERT_TRUE(held.ok() && held->has_value());
  EXPECT_EQ((*held)->object.key.get(), "a.csv");

  ASSERT_TRUE(broker.Run("restart"));

  // The delivery held across the restart cannot be settled: its connection is gone, and the broker has it.
  EXPECT_FALSE(q.Ack(**held).ok());
  // Publishing reconnects by itself.
  Status published = q.Publish(ObjectRef{ObjectKey("c.csv"), 1, {}});
  ASSERT_TRUE(published.ok()) << published.error().message;
  std::multiset<std::string> keys;
  int errors = 0;
  const auto deadline = std::chrono::steady_clock::now() + seconds(60);
  while (keys.size() < 3 && std::chrono::steady_clock::now() < deadline) {
    auto got = q.Receive(seconds(1));
    if (!got.ok()) {
      ++errors;  // the consumer finds its connection dead once, then reconnects
      ASSERT_EQ(got.error().kind, ErrorKind::kRetryable) << got.error().message;
      ASSERT_LT(errors, 10) << got.error().message;
      continue;
    }
    if (got->has_value()) {
      keys.insert((*got)->object.key.get());
      ASSERT_TRUE(q.Ack(**got).ok());
    }
  }
  EXPECT_EQ(keys, (std::multiset<std::string>{"a.csv", "b.csv", "c.csv"}));
  auto backlog = q.Backlog();
  ASSERT_TRUE(backlog.ok()) << backlog.error().message;
  EXPECT_EQ(*backlog, 0u);
}

}  // namespace
}  // namespace dimstream
