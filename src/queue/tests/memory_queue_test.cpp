#include "queue/memory_queue.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

// Suites are named after the module in lower case so that `ctest -R queue` selects them.
namespace dimstream {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Long enough never to expire on a slow machine, short enough to end a hung test.
constexpr milliseconds kLong = seconds(30);

ObjectRef Ref(const std::string& key) {
  return ObjectRef{ObjectKey(key), key.size(), Checksum("c-" + key)};
}

Delivery MustReceive(MemoryQueue& queue, milliseconds timeout = kLong) {
  Result<std::optional<Delivery>> got = queue.Receive(timeout);
  EXPECT_TRUE(got.ok());
  if (!got.ok() || !got->has_value()) {
    ADD_FAILURE() << "nothing received";
    return Delivery{};
  }
  return **got;
}

uint64_t Backlog(MemoryQueue& queue) {
  return queue.Backlog().value();
}

TEST(memory_queue, PublishReceiveAck) {
  MemoryQueue queue;
  EXPECT_EQ(queue.Describe(), "memory://");
  EXPECT_EQ(Backlog(queue), 0u);
  ASSERT_TRUE(queue.Publish(Ref("a.csv")).ok());
  ASSERT_TRUE(queue.Publish(Ref("b.csv")).ok());
  EXPECT_EQ(Backlog(queue), 2u);

  Delivery a = MustReceive(queue);
  EXPECT_EQ(a.object.key.get(), "a.csv");
  EXPECT_EQ(a.object.size, 5u);
  EXPECT_EQ(a.object.checksum.get(), "c-a.csv");
  EXPECT_EQ(Backlog(queue), 2u);  // in flight still counts

  Delivery b = MustReceive(queue);
  EXPECT_EQ(b.object.key.get(), "b.csv");
  EXPECT_NE(a.receipt, b.receipt);

  ASSERT_TRUE(queue.Ack(a).ok());
  EXPECT_EQ(Backlog(queue), 1u);
  ASSERT_TRUE(queue.Ack(b).ok());
  EXPECT_EQ(Backlog(queue), 0u);

  // Acknowledging twice is an error the caller can see, not a silent success.
  Status again = queue.Ack(a);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kNotFound);
  EXPECT_NE(again.error().message.find("a.csv"), std::string::npos) << again.error().message;
}

TEST(memory_queue, NackRedeliversAtOnce) {
  MemoryQueue queue(kLong);
  ASSERT_TRUE(queue.Publish(Ref("a.csv")).ok());
  ASSERT_TRUE(queue.Publish(Ref("b.csv")).ok());
  Delivery first = MustReceive(queue);
  ASSERT_TRUE(queue.Nack(first, "test").ok());
  EXPECT_EQ(Backlog(queue), 2u);

  // It comes back first, under a new receipt; the old receipt is spent.
  Delivery again = MustReceive(queue, milliseconds(0));
  EXPECT_EQ(again.object.key.get(), "a.csv");
  EXPECT_NE(again.receipt, first.receipt);
  EXPECT_EQ(queue.Ack(first).error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(queue.Nack(first, "test").error().kind, ErrorKind::kNotFound);
  ASSERT_TRUE(queue.Ack(again).ok());
  EXPECT_EQ(Backlog(queue), 1u);
}

TEST(memory_queue, VisibilityTimeoutRedelivers) {
  MemoryQueue queue(milliseconds(200));
  ASSERT_TRUE(queue.Publish(Ref("a.csv")).ok());
  const auto start = std::chrono::steady_clock::now();
  Delivery first = MustReceive(queue);

  // Not acknowledged: it becomes visible again by itself; a waiting Receive wakes up for it.
  Delivery second = MustReceive(queue, kLong);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(200));
  EXPECT_EQ(second.object.key.get(), "a.csv");
  EXPECT_NE(second.receipt, first.receipt);
  EXPECT_EQ(Backlog(queue), 1u);

  EXPECT_EQ(queue.Ack(first).error().kind, ErrorKind::kNotFound);
  ASSERT_TRUE(queue.Ack(second).ok());
  EXPECT_EQ(Backlog(queue), 0u);
}

TEST(memory_queue, AckBeforeTheTimeoutIsFinal) {
  MemoryQueue queue(milliseconds(100));
  ASSERT_TRUE(queue.Publish(Ref("a.csv")).ok());
  ASSERT_TRUE(queue.Ack(MustReceive(queue)).ok());
  Result<std::optional<Delivery>> none = queue.Receive(milliseconds(300));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST(memory_queue, ReceiveTimesOutWhenEmpty) {
  MemoryQueue queue;
  const auto start = std::chrono::steady_clock::now();
  Result<std::optional<Delivery>> got = queue.Receive(milliseconds(100));
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(100));

  got = queue.Receive(milliseconds(0));
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
}

TEST(memory_queue, ReceiveWakesUpOnPublish) {
  MemoryQueue queue;
  std::thread publisher([&] {
    std::this_thread::sleep_for(milliseconds(100));
    ASSERT_TRUE(queue.Publish(Ref("late.csv")).ok());
  });
  const auto start = std::chrono::steady_clock::now();
  Delivery got = MustReceive(queue, kLong);
  EXPECT_EQ(got.object.key.get(), "late.csv");
  EXPECT_LT(std::chrono::steady_clock::now() - start, kLong);
  publisher.join();
}

TEST(memory_queue, ConcurrentProducersAndConsumersDeliverEverything) {
  MemoryQueue queue(kLong);
  constexpr int kProducers = 3;
  constexpr int kPerProducer = 200;
  constexpr int kConsumers = 3;
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        EXPECT_TRUE(queue.Publish(Ref(fmt::format("p{}/{}", p, i))).ok());
      }
    });
  }
  std::mutex mu;
  std::multiset<std::string> received;
  std::atomic<int> remaining{kProducers * kPerProducer};
  for (int consumer = 0; consumer < kConsumers; ++consumer) {
    threads.emplace_back([&] {
      while (remaining.load() > 0) {
        Result<std::optional<Delivery>> got = queue.Receive(milliseconds(50));
        ASSERT_TRUE(got.ok());
        if (!got->has_value()) {
          continue;
        }
        // Some deliveries are refused, as by a consumer that failed; they come back under a new receipt.
        if ((*got)->receipt % 4 == 0) {
          EXPECT_TRUE(queue.Nack(**got, "test").ok());
          continue;
        }
        {
          std::lock_guard lock(mu);
          received.insert((*got)->object.key.get());
        }
        EXPECT_TRUE(queue.Ack(**got).ok());
        remaining.fetch_sub(1);
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(received.size(), static_cast<size_t>(kProducers * kPerProducer));
  EXPECT_EQ(std::set<std::string>(received.begin(), received.end()).size(), received.size());
  EXPECT_EQ(Backlog(queue), 0u);
}

}  // namespace
}  // namespace dimstream
