// Loader::Run against a bucket that misbehaves: objects that vanish between their notification and their
// load, and failures that a retry may or may not cure, before or after a notification of the object came. A
// real DuckDB file as the warehouse, a real directory as the bucket, wrapped to inject the failures.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "common/checksum.h"
#include "common/stop.h"
#include "common/testing/test_dir.h"
#include "loader/loader.h"
#include "object_store/local_object_store.h"
#include "queue/memory_queue.h"
#include "warehouse/duckdb/duckdb_warehouse.h"

namespace dimstream {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

// The bucket directory, with hooks: `vanish` keys are deleted just before their first Get or Open (after the
// loader has seen them listed or stat'ed), List fails `list_failures` times with a retryable error (and
// counts its listings in `lists`), and Stat fails `stat_failures` times so (the bucket away while a
// notification is in hand).
class FaultyStore : public ObjectStore {
 public:
  explicit FaultyStore(fs::path root) : real_(root), root_(std::move(root)) {}

  Status Put(const ObjectKey& key, const fs::path& source, const ObjectRef& expected) override {
    return real_.Put(key, source, expected);
  }
  Result<std::vector<ObjectInfo>> List() override {
    if (list_failures > 0) {
      --list_failures;
      return Error::Retryable("cannot list " + Describe() + ": Input/output error");
    }
    auto listed = real_.List();
    ++lists;  // once listed: what is put from now on, this listing does not see
    return listed;
  }
  Result<ObjectInfo> Stat(const ObjectKey& key) override {
    if (stat_failures > 0) {
      --stat_failures;
      return Error::Retryable("cannot stat " + key.get() + " in " + Describe() + ": Connection refused");
    }
    return real_.Stat(key);
  }
  Result<std::string> Get(const ObjectKey& key) override {
    Vanish(key);
    return real_.Get(key);
  }
  Result<std::unique_ptr<ByteStream>> Open(const ObjectKey& key) override {
    Vanish(key);
    return real_.Open(key);
  }
  std::string Describe() const override { return real_.Describe(); }

  void Vanish(const ObjectKey& key) {
    std::lock_guard lock(mu_);
    if (vanish.erase(key.get()) > 0) {
      fs::remove(root_ / key.get());
    }
  }

  std::set<std::string> vanish;  // set before the loader runs
  std::atomic<int> list_failures{0};
  std::atomic<int> stat_failures{0};
  std::atomic<int> lists{0};

 private:
  LocalObjectStore real_;
  fs::path root_;
  std::mutex mu_;
};

// Polls `done` until it holds, for up to a minute.
void WaitUntil(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
}

// A MemoryQueue that counts the notifications handed back.
class CountingQueue : public NotificationQueue {
 public:
  Status Publish(const ObjectRef& object) override { return real_.Publish(object); }
  Result<std::optional<Delivery>> Receive(milliseconds timeout) override { return real_.Receive(timeout); }
  Status Ack(const Delivery& delivery) override { return real_.Ack(delivery); }
  Status Nack(const Delivery& delivery, std::string_view reason) override {
    ++nacks;
    return real_.Nack(delivery, reason);
  }
  Result<uint64_t> Backlog() override { return real_.Backlog(); }
  std::string Describe() const override { return real_.Describe(); }

  std::atomic<int> nacks{0};

 private:
  MemoryQueue real_;
};

class LoaderRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "bucket");
    store_ = std::make_unique<FaultyStore>(dir_ / "bucket");
    auto w = DuckDbWarehouse::Open({dir_ / "w.duckdb"}, EntitySpec{});
    ASSERT_TRUE(w.ok()) << w.error().message;
    warehouse_ = std::move(*w);
  }
  void TearDown() override { warehouse_.reset(); }
  // Writes an object and returns what a notification of it says.
  ObjectRef Put(const std::string& key, const std::string& content) {
    std::ofstream(dir_ / "bucket" / key, std::ios::binary) << content;
    return ObjectRef{ObjectKey(key), content.size(), Sha256(content)};
  }
  // Runs the loader live on `queue` (listing once a day), publishes a notification of an object put after
  // its first listing, with the bucket failing the first `stat_failures` Stat calls, and stops it once the
  // object is loaded.
  void LoadNotifiedWhileTheBucketFails(NotificationQueue& queue, LoaderOptions options, int stat_failures) {
    options.list_interval = std::chrono::hours(24);
    std::atomic<int> commits{0};
    Loader loader(options, EntitySpec{}, *store_, &queue, *warehouse_,
                  [&](const std::string&) { ++commits; });
    std::thread run([&] { (void)loader.Run(stop_, false); });
    WaitUntil([&] { return store_->lists.load() > 0; });
    store_->stat_failures = stat_failures;
    ASSERT_TRUE(queue.Publish(Put("a.csv", "customer_id\n1\n")).ok());
    WaitUntil([&] { return commits.load() > 0; });
    stop_.Request();
    run.join();
    EXPECT_EQ(commits.load(), 1);
    EXPECT_EQ(store_->stat_failures.load(), 0);
    EXPECT_EQ(store_->lists.load(), 1) << "loaded from its notification, not by a listing";
    EXPECT_EQ(loader.stats().retries.load(), static_cast<uint64_t>(stat_failures));
    EXPECT_EQ(Count("SELECT count(*) FROM load_history WHERE object_key = 'a.csv' AND status = 'loaded'"), 1);
    auto backlog = queue.Backlog();
    ASSERT_TRUE(backlog.ok());
    EXPECT_EQ(*backlog, 0u);
  }
  int64_t Count(const std::string& sql) {
    auto r = warehouse_->Query(sql);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? std::stoll(*r->rows[0][0]) : -1;
  }

  test_support::TestDir tmp_{"dimstream_loader_run"};
  fs::path dir_ = tmp_.path();
  std::unique_ptr<FaultyStore> store_;
  std::unique_ptr<DuckDbWarehouse> warehouse_;
  StopSignal stop_;
};

TEST_F(LoaderRunTest, ObjectDeletedBetweenItsNotificationAndItsLoadIsSkippedAndAcknowledged) {
  MemoryQueue queue;
  ObjectRef gone = Put("gone.csv", "customer_id,first_name\n1,Ann\n");
  ObjectRef kept = Put("kept.csv", "customer_id,first_name\n2,Bob\n");
  ASSERT_TRUE(queue.Publish(gone).ok());
  ASSERT_TRUE(queue.Publish(kept).ok());
  store_->vanish = {"gone.csv"};  // listed (or stat'ed) by the loader, deleted before it reads it

  Loader loader(LoaderOptions{}, EntitySpec{}, *store_, &queue, *warehouse_);
  Status st = loader.Run(stop_, true);
  ASSERT_TRUE(st.ok()) << st.error().message;
  // Nothing to retry: a vanished object is not an error of the run, nothing is recorded for it, and its
  // notification is deleted rather than redelivered for ever.
  EXPECT_EQ(Count("SELECT count(*) FROM load_history WHERE object_key = 'gone.csv'"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM load_history WHERE object_key = 'kept.csv' AND status = 'loaded'"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM customer_raw"), 1);
  auto backlog = queue.Backlog();
  ASSERT_TRUE(backlog.ok());
  EXPECT_EQ(*backlog, 0u);
  EXPECT_EQ(loader.stats().objects_loaded.load(), 1u);

  // Put back (by anyone), it is loaded once, by the next listing.
  Put("gone.csv", "customer_id,first_name\n1,Ann\n");
  st = loader.Run(stop_, true);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(Count("SELECT count(*) FROM load_history WHERE object_key = 'gone.csv' AND status = 'loaded'"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM customer_raw"), 2);
}

TEST_F(LoaderRunTest, UntilIdleGivesUpOnAFailureThatPersistsAndSaysWhy) {
  Put("a.csv", "customer_id\n1\n");
  store_->list_failures = 1000;
  Loader loader(LoaderOptions{}, EntitySpec{}, *store_, nullptr, *warehouse_);
  auto started = std::chrono::steady_clock::now();
  Status st = loader.Run(stop_, true);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().kind, ErrorKind::kRetryable);
  EXPECT_NE(st.error().message.find("Input/output error"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("gave up after"), std::string::npos) << st.error().message;
  // A few attempts with back-off, not a loop without end (nor without a pause).
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
  EXPECT_GE(1000 - store_->list_failures.load(), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM load_history"), 0);
}

TEST_F(LoaderRunTest, LiveRunRetriesUntilTheFailureGoesAway) {
  Put("a.csv", "customer_id\n1\n");
  store_->list_failures = 3;
  std::atomic<int> commits{0};
  Loader loader(LoaderOptions{}, EntitySpec{}, *store_, nullptr, *warehouse_,
                [&](const std::string&) { ++commits; });
  std::thread run([&] { (void)loader.Run(stop_, false); });
  WaitUntil([&] { return commits.load() > 0; });
  stop_.Request();
  run.join();
  EXPECT_EQ(commits.load(), 1);
  EXPECT_EQ(store_->list_failures.load(), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM load_history WHERE object_key = 'a.csv' AND status = 'loaded'"), 1);
}

// A server away for a moment (a restart) while a notification is in hand: the loader keeps it and tries again
// after its back-off. Handed back at once, it would go round the loaders and use up its deliveries in that
// moment, and be dead-lettered though nothing is wrong with it (tests/e2e/test_distributed.py: a
// PostgreSQL restart under three loaders did so).
TEST_F(LoaderRunTest, ANotificationWhoseLoadFailsForAMomentIsKeptAndTriedAgainNotHandedBack) {
  CountingQueue queue;
  LoadNotifiedWhileTheBucketFails(queue, LoaderOptions{}, 3);  // 100 + 200 + 400 ms of back-off
  EXPECT_EQ(queue.nacks.load(), 0);
}

// A failure that outlasts hold_retryable: the notification goes back to the queue (for another loader, or a
// delivery limit to count), comes again, and the object is loaded once.
TEST_F(LoaderRunTest, ANotificationWhoseLoadFailsLongerThanItsHoldGoesBackToTheQueue) {
  CountingQueue queue;
  LoaderOptions options;
  options.hold_retryable = milliseconds(250);  // room for the first back-off (100 ms) only
  LoadNotifiedWhileTheBucketFails(queue, options, 4);
  // The first failure is tried again in hand; the second comes with a back-off of 200 ms, past the hold, and
  // so do the later ones (400, 800 ms): each goes back.
  EXPECT_EQ(queue.nacks.load(), 3);
}

}  // namespace
}  // namespace dimstream
