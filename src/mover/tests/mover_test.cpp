#include "mover/mover.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <future>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/checksum.h"
#include "object_store/local_object_store.h"
#include "queue/memory_queue.h"

// Suites are named after the module in lower case so that `ctest -R mover` selects them.
namespace dimstream {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Generous: a slow machine must never fail a test by timing; a broken mover fails it by never arriving.
constexpr milliseconds kPatience = seconds(60);

class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = fs::temp_directory_path() / fmt::format("dimstream-mover-{}-{:08x}", ::getpid(), random());
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void WriteFile(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

// As well-behaved writers do: write under a name the mover skips, then rename.
void WriteAtomically(const fs::path& path, const std::string& content) {
  fs::path part = path;
  part += ".part";
  WriteFile(part, content);
  fs::rename(part, path);
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string content(fs::file_size(path), '\0');
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  return content;
}

bool WaitUntil(const std::function<bool()>& condition, milliseconds timeout = kPatience) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

// Every notification now in the queue, acknowledged.
std::vector<ObjectRef> Drain(NotificationQueue& queue) {
  std::vector<ObjectRef> out;
  while (true) {
    Result<std::optional<Delivery>> got = queue.Receive(milliseconds(0));
    if (!got.ok() || !got->has_value()) {
      return out;
    }
    out.push_back((*got)->object);
    EXPECT_TRUE(queue.Ack(**got).ok());
  }
}

// Every regular file under `dir`, as paths relative to it.
std::vector<std::string> FilesUnder(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      out.push_back(entry.path().lexically_relative(dir).generic_string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A real bucket that can be made to fail, and that can run a hook after a successful put.
class FlakyStore : public ObjectStore {
 public:
  explicit FlakyStore(ObjectStore& inner) : inner_(inner) {}

  std::atomic<int> failures_left{0};
  std::atomic<int> puts{0};
  std::function<void(const ObjectKey&)> after_put;

  Status Put(const ObjectKey& key, const fs::path& source, const ObjectRef& expected) override {
    ++puts;
    if (failures_left > 0) {
      --failures_left;
      return Error::Retryable(
          fmt::format("cannot put {} into {}: No space left on device", key.get(), Describe()));
    }
    Status put = inner_.Put(key, source, expected);
    if (put.ok() && after_put) {
      after_put(key);
    }
    return put;
  }
  Result<std::vector<ObjectInfo>> List() override { return inner_.List(); }
  Result<ObjectInfo> Stat(const ObjectKey& key) override { return inner_.Stat(key); }
  Result<std::string> Get(const ObjectKey& key) override { return inner_.Get(key); }
  Result<std::unique_ptr<ByteStream>> Open(const ObjectKey& key) override { return inner_.Open(key); }
  std::string Describe() const override { return inner_.Describe(); }

 private:
  ObjectStore& inner_;
};

// A real queue whose publishes can be made to fail, and that can run a hook after a publish.
class FlakyQueue : public NotificationQueue {
 public:
  std::atomic<int> failures_left{0};
  MemoryQueue inner;
  std::function<void(const ObjectRef&)> after_publish;

  Status Publish(const ObjectRef& object) override {
    if (failures_left > 0) {
      --failures_left;
      return Error::Retryable("broker unavailable");
    }
    Status published = inner.Publish(object);
    if (published.ok() && after_publish) {
      after_publish(object);
    }
    return published;
  }
  Result<std::optional<Delivery>> Receive(milliseconds timeout) override { return inner.Receive(timeout); }
  Status Ack(const Delivery& delivery) override { return inner.Ack(delivery); }
  Status Nack(const Delivery& delivery, std::string_view reason) override {
    return inner.Nack(delivery, reason);
  }
  Result<uint64_t> Backlog() override { return inner.Backlog(); }
  std::string Describe() const override { return "flaky://"; }
};

// Landing, bucket and queue in one temporary directory.
struct Fixture {
  TempDir tmp;
  fs::path landing = tmp.path() / "landing";
  LocalObjectStore bucket{tmp.path() / "bucket"};
  FlakyStore store{bucket};
  FlakyQueue queue;

  Fixture() { fs::create_directories(landing); }

  MoverOptions Options() const {
    MoverOptions options;
    options.landing = landing;
    options.retry_initial = milliseconds(20);
    options.retry_max = milliseconds(100);
    return options;
  }
};

// Runs the mover on its own thread until `stop`; the destructor stops and joins it.
class Running {
 public:
  Running(Mover& mover, bool until_idle)
      : result_(std::async(std::launch::async,
                           [&mover, until_idle, this] { return mover.Run(stop_, until_idle); })) {}
  ~Running() {
    stop_.Request();
    if (result_.valid()) {
      result_.wait();
    }
  }
  // Waits for Run to return; on a timeout, stops it and fails.
  Status Finish(milliseconds timeout = kPatience) {
    if (result_.wait_for(timeout) != std::future_status::ready) {
      ADD_FAILURE() << "Run did not return in time";
      stop_.Request();
    }
    return result_.get();
  }
  Status Stop() {
    stop_.Request();
    return result_.get();
  }

 private:
  StopSignal stop_;
  std::future<Status> result_;
};

TEST(mover, MovesFilesWithSubdirectories) {
  Fixture f;
  WriteFile(f.landing / "customer_1.csv", "id\r\n1\r\n");
  WriteFile(f.landing / "2025" / "01" / "customer_2.csv", "id\r\n2\r\n");
  WriteFile(f.landing / "2025" / "02" / "customer_3.csv", "");
  Mover mover(f.Options(), f.store, f.queue);

  Result<uint64_t> moved = mover.MoveReady();
  ASSERT_TRUE(moved.ok()) << moved.error().message;
  EXPECT_EQ(*moved, 3u);

  // The keys keep the paths; the landing files and the subdirectories they emptied are gone.
  EXPECT_EQ(FilesUnder(f.tmp.path() / "bucket"),
            (std::vector<std::string>{"2025/01/customer_2.csv", "2025/02/customer_3.csv", "customer_1.csv"}));
  EXPECT_EQ(f.bucket.Get(ObjectKey("2025/01/customer_2.csv")).value(), "id\r\n2\r\n");
  EXPECT_TRUE(fs::is_directory(f.landing));
  EXPECT_TRUE(fs::is_empty(f.landing));

  std::vector<ObjectRef> notes = Drain(f.queue);
  ASSERT_EQ(notes.size(), 3u);
  std::sort(notes.begin(), notes.end(), [](const ObjectRef& a, const ObjectRef& b) { return a.key < b.key; });
  EXPECT_EQ(notes[0].key.get(), "2025/01/customer_2.csv");
  EXPECT_EQ(notes[0].size, 7u);
  EXPECT_EQ(notes[0].checksum, Sha256("id\r\n2\r\n"));
  EXPECT_EQ(notes[1].checksum, Sha256(""));
  EXPECT_EQ(notes[2].key.get(), "customer_1.csv");

  EXPECT_EQ(mover.stats().files_moved.load(), 3u);
  EXPECT_EQ(mover.stats().bytes_moved.load(), 14u);
  EXPECT_EQ(mover.stats().failures.load(), 0u);

  // Nothing is moved or announced twice.
  EXPECT_EQ(mover.MoveReady().value(), 0u);
  EXPECT_TRUE(Drain(f.queue).empty());
}

TEST(mover, SkipsFilesBeingWrittenHiddenFilesAndLinks) {
  Fixture f;
  WriteFile(f.landing / ".hidden.csv", "h");
  WriteFile(f.landing / "x.csv.tmp", "t");
  WriteFile(f.landing / "y.csv.part", "p");
  WriteFile(f.landing / ".staging" / "z.csv", "z");
  WriteFile(f.landing / "sub" / "w.csv.part", "w");
  WriteFile(f.landing / "sub" / "ready.csv", "r");
  WriteFile(f.tmp.path() / "outside" / "secret.csv", "secret");
  fs::create_symlink(f.tmp.path() / "outside" / "secret.csv", f.landing / "link.csv");
  fs::create_directory_symlink(f.tmp.path() / "outside", f.landing / "linked-dir");
  Mover mover(f.Options(), f.store, f.queue);

  EXPECT_EQ(mover.MoveReady().value(), 1u);
  EXPECT_EQ(FilesUnder(f.tmp.path() / "bucket"), std::vector<std::string>{"sub/ready.csv"});
  EXPECT_TRUE(fs::exists(f.landing / ".hidden.csv"));
  EXPECT_TRUE(fs::exists(f.landing / "x.csv.tmp"));
  EXPECT_TRUE(fs::exists(f.landing / "y.csv.part"));
  EXPECT_TRUE(fs::exists(f.landing / ".staging" / "z.csv"));
  EXPECT_TRUE(fs::exists(f.landing / "sub" / "w.csv.part"));  // so "sub" stays too
  EXPECT_TRUE(fs::is_symlink(f.landing / "link.csv"));
  EXPECT_EQ(ReadFile(f.tmp.path() / "outside" / "secret.csv"), "secret");
  EXPECT_EQ(Drain(f.queue).size(), 1u);

  EXPECT_EQ(mover.MoveReady().value(), 0u);
}

TEST(mover, FailedPutStaysInLandingAndIsRetried) {
  Fixture f;
  WriteFile(f.landing / "a.csv", "content");
  f.store.failures_left = 2;
  Mover mover(f.Options(), f.store, f.queue);

  EXPECT_EQ(mover.MoveReady().value(), 0u);
  EXPECT_EQ(ReadFile(f.landing / "a.csv"), "content");
  EXPECT_EQ(f.queue.Backlog().value(), 0u);
  EXPECT_EQ(mover.stats().failures.load(), 1u);

  ASSERT_TRUE(WaitUntil([&] { return mover.MoveReady().value() == 1; }));
  EXPECT_FALSE(fs::exists(f.landing / "a.csv"));
  EXPECT_EQ(f.bucket.Get(ObjectKey("a.csv")).value(), "content");
  // Calls during the back-off did not try again: two failures, then the put that worked.
  EXPECT_EQ(f.store.puts.load(), 3);
  EXPECT_EQ(mover.stats().failures.load(), 2u);
  EXPECT_EQ(Drain(f.queue).size(), 1u);
}

TEST(mover, FailedPublishStaysInLandingAndIsRetried) {
  Fixture f;
  WriteFile(f.landing / "a.csv", "content");
  f.queue.failures_left = 1;
  Mover mover(f.Options(), f.store, f.queue);

  EXPECT_EQ(mover.MoveReady().value(), 0u);
  EXPECT_TRUE(fs::exists(f.landing / "a.csv"));  // in the bucket, but not announced: not done

  ASSERT_TRUE(WaitUntil([&] { return mover.MoveReady().value() == 1; }));
  EXPECT_FALSE(fs::exists(f.landing / "a.csv"));
  std::vector<ObjectRef> notes = Drain(f.queue);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].checksum, Sha256("content"));
}

// Without leases (file systems without them, or not the files' owner), the size and mtime tell. With a
// lease, the rewrite below would wait on the mover's own lease: see the next test for that case.
// The bucket keeps one content per key: a new file under a key whose current content was never loaded
// waits in landing until it is, rather than replacing (losing) it.
TEST(mover, ObjectWhoseContentWasNotLoadedYetIsNotReplaced) {
  Fixture f;
  const std::string v1 = "id\r\n1\r\n";
  const std::string v2 = "id\r\n2\r\n";
  std::atomic<bool> v1_loaded{false};
  std::atomic<int> asked{0};
  MoverOptions options = f.Options();
  options.loaded = [&](const ObjectRef& object) -> Result<bool> {
    ++asked;
    EXPECT_EQ(object.key.get(), "a.csv");
    EXPECT_EQ(object.checksum, Sha256(v1));
    return v1_loaded.load();
  };
  Mover mover(options, f.store, f.queue);
  WriteFile(f.landing / "a.csv", v1);
  EXPECT_EQ(mover.MoveReady().value(), 1u);
  EXPECT_EQ(asked.load(), 0) << "nothing to replace: no question";

  WriteFile(f.landing / "a.csv", v2);
  EXPECT_EQ(mover.MoveReady().value(), 0u);
  EXPECT_EQ(mover.MoveReady().value(), 0u);
  EXPECT_EQ(ReadFile(f.landing / "a.csv"), v2);
  EXPECT_EQ(f.bucket.Get(ObjectKey("a.csv")).value(), v1);
  EXPECT_EQ(mover.stats().failures.load(), 0u) << "waiting for a load is not a failure";
  EXPECT_EQ(Drain(f.queue).size(), 1u);

  v1_loaded = true;
  EXPECT_EQ(mover.MoveReady().value(), 1u);
  EXPECT_FALSE(fs::exists(f.landing / "a.csv"));
  EXPECT_EQ(f.bucket.Get(ObjectKey("a.csv")).value(), v2);
  std::vector<ObjectRef> notes = Drain(f.queue);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].checksum, Sha256(v2));

  // The same content again (a re-move after a crash) replaces nothing: no question, moved at once.
  const int before = asked.load();
  WriteFile(f.landing / "a.csv", v2);
  EXPECT_EQ(mover.MoveReady().value(), 1u);
  EXPECT_EQ(asked.load(), before);
}

TEST(mover, LedgerThatCannotAnswerKeepsTheFileAndIsAskedAgain) {
  Fixture f;
  std::atomic<int> failures_left{2};
  MoverOptions options = f.Options();
  options.loaded = [&](const ObjectRef&) -> Result<bool> {
    if (failures_left > 0) {
      --failures_left;
      return Error::Retryable("the warehouse is locked");
    }
    return true;
  };
  Mover mover(options, f.store, f.queue);
  WriteFile(f.landing / "a.csv", "old");
  EXPECT_EQ(mover.MoveReady().value(), 1u);
  WriteFile(f.landing / "a.csv", "new");
  EXPECT_EQ(mover.MoveReady().value(), 0u);
  EXPECT_EQ(mover.stats().failures.load(), 1u);
  ASSERT_TRUE(WaitUntil([&] { return mover.MoveReady().value() == 1; }));
  EXPECT_EQ(f.bucket.Get(ObjectKey("a.csv")).value(), "new");
}

TEST(mover, WithoutALedgerAnObjectIsReplacedAtOnce) {
  Fixture f;
  Mover mover(f.Options(), f.store, f.queue);
  WriteFile(f.landing / "a.csv", "old");
  EXPECT_EQ(mover.MoveReady().value(), 1u);
  WriteFile(f.landing / "a.csv", "new");
  EXPECT_EQ(mover.MoveReady().value(), 1u);
  EXPECT_EQ(f.bucket.Get(ObjectKey("a.csv")).value(), "new");
}

// After a pass that put "first" of a.csv while the file became "second, longer": the next pass moves the new
// content, and both versions were announced, in order.
void ExpectSecondVersionMovedNext(Fixture& f, Mover& mover, const fs::path& file) {
  EXPECT_EQ(mover.MoveReady().value(), 1u);
  EXPECT_FALSE(fs::exists(file));
  EXPECT_EQ(f.bucket.Get(ObjectKey("a.csv")).value(), "second, longer");
  std::vector<ObjectRef> notes = Drain(f.queue);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0].checksum, Sha256("first"));
  EXPECT_EQ(notes[1].checksum, Sha256("second, longer"));
}

TEST(mover, FileChangedDuringTheMoveIsKeptAndMovedAgain) {
  Fixture f;
  fs::path file = f.landing / "a.csv";
  WriteFile(file, "first");
  bool changed = false;
  f.store.after_put = [&](const ObjectKey&) {
    if (!changed) {
      changed = true;
      WriteFile(file, "second, longer");
    }
  };
  MoverOptions options = f.Options();
  options.use_leases = false;
  Mover mover(options, f.store, f.queue);

  EXPECT_EQ(mover.MoveReady().value(), 1u);
  EXPECT_EQ(ReadFile(file), "second, longer");
  EXPECT_EQ(f.bucket.Get(ObjectKey("a.csv")).value(), "first");

  ExpectSecondVersionMovedNext(f, mover, file);
}

// A writer that opens the file while the mover holds its lease (here: during the put) waits until the put is
// done; the mover then announces what it put, and keeps the file for its next version.
TEST(mover, FileOpenedForWritingDuringTheMoveIsKeptAndMovedAgain) {
  Fixture f;
  fs::path file = f.landing / "a.csv";
  WriteFile(file, "first");
  std::thread writer;
  bool opened = false;
  int open_error = 0;
  f.store.after_put = [&](const ObjectKey&) {
    if (!opened) {
      opened = true;
      // Without blocking: the lease makes this open fail, and starts breaking the lease.
      int fd = ::open(file.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      open_error = fd < 0 ? errno : 0;
      if (fd >= 0) {
        ::close(fd);
      }
      // A writer that waits, as most do: its open returns once the mover lets go.
      writer = std::thread([&] { WriteFile(file, "second, longer"); });
    }
  };
  Mover mover(f.Options(), f.store, f.queue);

  EXPECT_EQ(mover.MoveReady().value(), 1u);
  ASSERT_TRUE(writer.joinable());
  writer.join();
  EXPECT_EQ(open_error, EWOULDBLOCK);
  EXPECT_EQ(ReadFile(file), "second, longer");
  EXPECT_EQ(f.bucket.Get(ObjectKey("a.csv")).value(), "first");

  ExpectSecondVersionMovedNext(f, mover, file);
}

// Written in place, without a temporary name: the file is not taken while a process has it open for
// writing, whatever its age, and is taken whole once closed.
TEST(mover, FileOpenForWritingIsNotMovedUntilClosed) {
  Fixture f;
  fs::path streamed = f.landing / "streamed.csv";
  std::ofstream out(streamed, std::ios::binary);
  out << "id\n1\n";
  out.flush();
  // Opened for writing but not written to yet (an old file, as far as its mtime goes).
  fs::path idle = f.landing / "idle.csv";
  WriteFile(idle, "id\n7\n");
  fs::last_write_time(idle, fs::file_time_type::clock::now() - std::chrono::hours(1));
  int idle_fd = ::open(idle.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  ASSERT_GE(idle_fd, 0);
  Mover mover(f.Options(), f.store, f.queue);

  EXPECT_EQ(mover.MoveReady().value(), 0u);
  EXPECT_EQ(mover.MoveReady().value(), 0u);
  EXPECT_EQ(FilesUnder(f.landing), (std::vector<std::string>{"idle.csv", "streamed.csv"}));
  EXPECT_TRUE(f.bucket.List().value().empty());
  EXPECT_TRUE(Drain(f.queue).empty());
  EXPECT_EQ(mover.stats().failures.load(), 0u);

  out << "2\n";
  out.close();
  EXPECT_EQ(mover.MoveReady().value(), 1u);
  EXPECT_EQ(FilesUnder(f.landing), std::vector<std::string>{"idle.csv"});
  EXPECT_EQ(f.bucket.Get(ObjectKey("streamed.csv")).value(), "id\n1\n2\n");

  ASSERT_EQ(::write(idle_fd, "8\n", 2), 2);
  ::close(idle_fd);
  EXPECT_EQ(mover.MoveReady().value(), 1u);
  EXPECT_TRUE(fs::is_empty(f.landing));
  EXPECT_EQ(f.bucket.Get(ObjectKey("idle.csv")).value(), "id\n7\n8\n");
  EXPECT_EQ(Drain(f.queue).size(), 2u);
}

// The reported bug: a writer writing a row at a time in place, with pauses, lost the rows written after
// the mover took its file. The mover looks as often as it can here; the file still arrives once, whole.
TEST(mover, SlowInPlaceWriterIsMovedWhole) {
  Fixture f;
  MoverOptions options = f.Options();
  options.poll_interval = milliseconds(5);
  Mover mover(options, f.store, f.queue);
  Running run(mover, /*until_idle=*/false);

  std::string written;
  std::thread writer([&] {
    std::ofstream out(f.landing / "slow.csv", std::ios::binary);
    auto put = [&](const std::string& line) {
      out << line;
      out.flush();
      written += line;
    };
    put("id,name\n");
    for (int i = 0; i < 40; ++i) {
      std::this_thread::sleep_for(milliseconds(20));
      put(fmt::format("{},name {}\n", i, i));
    }
  });
  writer.join();

  ASSERT_TRUE(
      WaitUntil([&] { return mover.stats().files_moved.load() >= 1 && FilesUnder(f.landing).empty(); }));
  EXPECT_TRUE(run.Stop().ok());
  EXPECT_EQ(f.bucket.Get(ObjectKey("slow.csv")).value(), written);
  EXPECT_EQ(mover.stats().files_moved.load(), 1u);
  std::vector<ObjectRef> notes = Drain(f.queue);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].checksum, Sha256(written));
  EXPECT_EQ(mover.stats().failures.load(), 0u);
}

// Without leases, Run still leaves alone a file that inotify saw written and not closed since.
TEST(mover, WithoutLeasesAFileWrittenAndNotClosedWaitsForItsClose) {
  Fixture f;
  WriteFile(f.landing / "first.csv", "1");
  MoverOptions options = f.Options();
  options.use_leases = false;
  options.poll_interval = std::chrono::minutes(10);  // only inotify brings passes
  fs::path slow = f.landing / "slow.csv";
  std::ofstream out;
  // Start writing while the mover is in a pass (after the first file's publish), so that the writes are
  // watched and the pass that follows at once lists the new file.
  f.queue.after_publish = [&](const ObjectRef& ref) {
    if (ref.key.get() == "first.csv") {
      out.open(slow, std::ios::binary);
      out << "id\n1\n";
      out.flush();
    }
  };
  Mover mover(options, f.store, f.queue);
  Running run(mover, /*until_idle=*/false);
  ASSERT_TRUE(WaitUntil([&] { return mover.stats().files_moved.load() == 1; }));

  // A file renamed into landing brings a pass; it does not take the open one.
  WriteAtomically(f.landing / "other.csv", "2");
  ASSERT_TRUE(WaitUntil([&] { return mover.stats().files_moved.load() == 2; }));
  EXPECT_EQ(FilesUnder(f.landing), std::vector<std::string>{"slow.csv"});
  EXPECT_FALSE(f.bucket.Stat(ObjectKey("slow.csv")).ok());

  out << "2\n";
  out.close();  // IN_CLOSE_WRITE
  ASSERT_TRUE(WaitUntil([&] { return mover.stats().files_moved.load() == 3; }));
  EXPECT_TRUE(run.Stop().ok());
  EXPECT_TRUE(fs::is_empty(f.landing));
  EXPECT_EQ(f.bucket.Get(ObjectKey("slow.csv")).value(), "id\n1\n2\n");
  EXPECT_EQ(Drain(f.queue).size(), 3u);
}

TEST(mover, YoungFilesWaitForMinFileAge) {
  Fixture f;
  fs::path file = f.landing / "a.csv";
  WriteFile(file, "content");
  MoverOptions options = f.Options();
  options.min_file_age = std::chrono::hours(1);
  Mover mover(options, f.store, f.queue);

  EXPECT_EQ(mover.MoveReady().value(), 0u);
  EXPECT_TRUE(fs::exists(file));
  fs::last_write_time(file, fs::file_time_type::clock::now() - std::chrono::hours(2));
  EXPECT_EQ(mover.MoveReady().value(), 1u);
  EXPECT_FALSE(fs::exists(file));
}

TEST(mover, MoveReadyStopsAtTheBacklogLimit) {
  Fixture f;
  for (int i = 0; i < 3; ++i) {
    WriteFile(f.landing / fmt::format("f{}.csv", i), fmt::format("{}", i));
  }
  MoverOptions options = f.Options();
  options.max_backlog_objects = 0;
  Mover mover(options, f.store, f.queue);

  EXPECT_EQ(mover.MoveReady().value(), 1u);
  EXPECT_EQ(mover.MoveReady().value(), 0u);
  EXPECT_EQ(Drain(f.queue).size(), 1u);
  EXPECT_EQ(mover.MoveReady().value(), 1u);
  EXPECT_EQ(Drain(f.queue).size(), 1u);
  EXPECT_EQ(mover.MoveReady().value(), 1u);
  EXPECT_TRUE(fs::is_empty(f.landing));
}

TEST(mover, RunWaitsWhileTheBacklogIsTooLong) {
  Fixture f;
  for (int i = 0; i < 4; ++i) {
    WriteFile(f.landing / fmt::format("f{}.csv", i), fmt::format("{}", i));
  }
  MoverOptions options = f.Options();
  options.max_backlog_objects = 1;
  Mover mover(options, f.store, f.queue);
  Running run(mover, /*until_idle=*/false);

  ASSERT_TRUE(WaitUntil([&] { return mover.stats().files_moved.load() == 2; }));
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(mover.stats().files_moved.load(), 2u);  // held back: nobody consumed
  EXPECT_EQ(FilesUnder(f.landing).size(), 2u);

  for (uint64_t expected : {3u, 4u}) {
    Result<std::optional<Delivery>> got = f.queue.Receive(kPatience);
    ASSERT_TRUE(got.ok() && got->has_value());
    ASSERT_TRUE(f.queue.Ack(**got).ok());
    ASSERT_TRUE(WaitUntil([&] { return mover.stats().files_moved.load() == expected; }));
  }
  EXPECT_TRUE(run.Stop().ok());
  EXPECT_TRUE(FilesUnder(f.landing).empty());
}

TEST(mover, UntilIdleReturnsWhenLandingIsEmpty) {
  Fixture f;
  WriteFile(f.landing / "a.csv", "a");
  WriteFile(f.landing / "sub" / "b.csv", "b");
  WriteFile(f.landing / "c.csv.part", "still being written");
  Mover mover(f.Options(), f.store, f.queue);

  Running run(mover, /*until_idle=*/true);
  Status status = run.Finish();
  EXPECT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(FilesUnder(f.landing), std::vector<std::string>{"c.csv.part"});
  EXPECT_EQ(Drain(f.queue).size(), 2u);
}

TEST(mover, UntilIdleCreatesAMissingLanding) {
  Fixture f;
  MoverOptions options = f.Options();
  options.landing = f.tmp.path() / "new-landing";
  Mover mover(options, f.store, f.queue);
  EXPECT_EQ(mover.MoveReady().error().kind, ErrorKind::kNotFound);
  Running run(mover, /*until_idle=*/true);
  EXPECT_TRUE(run.Finish().ok());
  EXPECT_TRUE(fs::is_directory(options.landing));
}

TEST(mover, UntilIdleWaitsForYoungFiles) {
  Fixture f;
  WriteFile(f.landing / "a.csv", "a");
  MoverOptions options = f.Options();
  options.min_file_age = milliseconds(300);
  Mover mover(options, f.store, f.queue);
  Running run(mover, /*until_idle=*/true);
  EXPECT_TRUE(run.Finish().ok());
  EXPECT_TRUE(FilesUnder(f.landing).empty());
  EXPECT_EQ(Drain(f.queue).size(), 1u);
}

TEST(mover, UntilIdleReturnsAnErrorWhenAFileKeepsFailing) {
  Fixture f;
  WriteFile(f.landing / "bad.csv", "bad");
  WriteFile(f.landing / "good.csv", "good");
  f.store.failures_left = 1'000'000;
  MoverOptions options = f.Options();
  options.retry_initial = std::chrono::minutes(10);
  options.retry_max = std::chrono::minutes(10);
  Mover mover(options, f.store, f.queue);

  Running run(mover, /*until_idle=*/true);
  Status status = run.Finish();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().kind, ErrorKind::kRetryable);
  EXPECT_NE(status.error().message.find("No space left on device"), std::string::npos)
      << status.error().message;
  // Nothing was removed that is not in the bucket.
  EXPECT_EQ(FilesUnder(f.landing), (std::vector<std::string>{"bad.csv", "good.csv"}));
  EXPECT_TRUE(Drain(f.queue).empty());
}

TEST(mover, NameThatCannotBeAKeyStaysAndIsReported) {
  Fixture f;
  WriteFile(f.landing / "back\\slash.csv", "x");
  WriteFile(f.landing / "fine.csv", "y");
  Mover mover(f.Options(), f.store, f.queue);
  EXPECT_EQ(mover.MoveReady().value(), 1u);
  EXPECT_TRUE(fs::exists(f.landing / "back\\slash.csv"));

  Running run(mover, /*until_idle=*/true);
  Status status = run.Finish();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("back\\slash.csv"), std::string::npos) << status.error().message;
}

TEST(mover, InotifyPicksUpFilesWrittenAfterRunStarted) {
  Fixture f;
  WriteFile(f.landing / "first.csv", "1");
  MoverOptions options = f.Options();
  // Far longer than the test waits: only inotify can bring the new files in.
  options.poll_interval = std::chrono::minutes(10);
  Mover mover(options, f.store, f.queue);
  Running run(mover, /*until_idle=*/false);
  ASSERT_TRUE(WaitUntil([&] { return mover.stats().files_moved.load() == 1; }));

  // Renamed into place (IN_MOVED_TO).
  WriteAtomically(f.landing / "second.csv", "2");
  ASSERT_TRUE(WaitUntil([&] { return mover.stats().files_moved.load() == 2; }));

  // In a subdirectory created after the start (IN_CREATE, then the new directory's own watch).
  fs::create_directories(f.landing / "2025" / "01");
  WriteAtomically(f.landing / "2025" / "01" / "third.csv", "3");
  ASSERT_TRUE(WaitUntil([&] { return mover.stats().files_moved.load() == 3; }));

  // Written in place and closed (IN_CLOSE_WRITE).
  WriteFile(f.landing / "fourth.csv", "4");
  ASSERT_TRUE(WaitUntil([&] { return mover.stats().files_moved.load() == 4; }));

  EXPECT_TRUE(run.Stop().ok());
  EXPECT_TRUE(fs::is_empty(f.landing));
  EXPECT_EQ(FilesUnder(f.tmp.path() / "bucket"),
            (std::vector<std::string>{"2025/01/third.csv", "first.csv", "fourth.csv", "second.csv"}));
  EXPECT_EQ(Drain(f.queue).size(), 4u);
}

}  // namespace
}  // namespace dimstream
