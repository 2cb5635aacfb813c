#include "object_store/local_object_store.h"

#include <unistd.h>

#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/checksum.h"
#include "object_store/resolve_key.h"

// Suites are named after the module in lower case so that `ctest -R object_store` selects them.
namespace dimstream {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the system's temporary directory, removed with everything in it at the end.
class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = fs::temp_directory_path() / fmt::format("dimstream-object-store-{}-{:08x}", ::getpid(), random());
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

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string content(fs::file_size(path), '\0');
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  return content;
}

ObjectRef RefOf(const std::string& key, const std::string& content) {
  return ObjectRef{ObjectKey(key), content.size(), Sha256(content)};
}

// Writes `content` to a source file and puts it under `key`.
Status PutContent(LocalObjectStore& store, const fs::path& scratch, const std::string& key,
                  const std::string& content) {
  fs::path source = scratch / "source";
  WriteFile(source, content);
  return store.Put(ObjectKey(key), source, RefOf(key, content));
}

std::vector<std::string> Keys(const std::vector<ObjectInfo>& infos) {
  std::vector<std::string> keys;
  for (const ObjectInfo& info : infos) {
    keys.push_back(info.key.get());
  }
  return keys;
}

TEST(object_store, PutListGetStat) {
  TempDir tmp;
  LocalObjectStore store(tmp.path() / "bucket");
  ASSERT_TRUE(fs::is_directory(tmp.path() / "bucket"));
  EXPECT_EQ(store.Describe(), "file://" + (tmp.path() / "bucket").string());

  ASSERT_TRUE(PutContent(store, tmp.path(), "sub/dir/b.csv", "id\r\n2\r\n").ok());
  ASSERT_TRUE(PutContent(store, tmp.path(), "a.csv", "id\r\n1\r\n").ok());
  ASSERT_TRUE(PutContent(store, tmp.path(), "sub/a.csv", "").ok());

  Result<std::vector<ObjectInfo>> listed = store.List();
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  EXPECT_EQ(Keys(*listed), (std::vector<std::string>{"a.csv", "sub/a.csv", "sub/dir/b.csv"}));
  EXPECT_EQ((*listed)[0].size, 7u);
  EXPECT_EQ((*listed)[1].size, 0u);
  EXPECT_FALSE((*listed)[0].version_tag.empty());
  EXPECT_NE((*listed)[0].version_tag, (*listed)[2].version_tag);

  Result<std::string> content = store.Get(ObjectKey("sub/dir/b.csv"));
  ASSERT_TRUE(content.ok()) << content.error().message;
  EXPECT_EQ(*content, "id\r\n2\r\n");
  EXPECT_EQ(ReadFile(tmp.path() / "bucket/sub/dir/b.csv"), "id\r\n2\r\n");

  Result<ObjectInfo> info = store.Stat(ObjectKey("a.csv"));
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->key.get(), "a.csv");
  EXPECT_EQ(info->size, 7u);
  EXPECT_EQ(info->version_tag, (*listed)[0].version_tag);
}

TEST(object_store, MissingObjectsAreNotFound) {
  TempDir tmp;
  LocalObjectStore store(tmp.path() / "bucket");
  ASSERT_TRUE(PutContent(store, tmp.path(), "dir/x.csv", "x").ok());

  for (const char* key : {"nope.csv", "dir/nope.csv", "dir/x.csv/below", "dir"}) {
    Result<std::string> got = store.Get(ObjectKey(key));
    ASSERT_FALSE(got.ok()) << key;
    EXPECT_EQ(got.error().kind, ErrorKind::kNotFound) << key << ": " << got.error().message;
    Result<ObjectInfo> stat = store.Stat(ObjectKey(key));
    ASSERT_FALSE(stat.ok()) << key;
    EXPECT_EQ(stat.error().kind, ErrorKind::kNotFound) << key << ": " << stat.error().message;
  }
  Result<std::string> got = store.Get(ObjectKey("nope.csv"));
  EXPECT_NE(got.error().message.find("nope.csv"), std::string::npos) << got.error().message;
  EXPECT_NE(got.error().message.find(store.Describe()), std::string::npos) << got.error().message;
}

TEST(object_store, SamePutTwiceDoesNotRewrite) {
  TempDir tmp;
  LocalObjectStore store(tmp.path() / "bucket");
  ASSERT_TRUE(PutContent(store, tmp.path(), "a.csv", "same content").ok());
  Result<ObjectInfo> first = store.Stat(ObjectKey("a.csv"));
  ASSERT_TRUE(first.ok());

  ASSERT_TRUE(PutContent(store, tmp.path(), "a.csv", "same content").ok());
  Result<ObjectInfo> second = store.Stat(ObjectKey("a.csv"));
  ASSERT_TRUE(second.ok());
  // Same inode and mtime: the object was left alone.
  EXPECT_EQ(first->version_tag, second->version_tag);

  // New content under the same key is a new object and replaces the old one.
  ASSERT_TRUE(PutContent(store, tmp.path(), "a.csv", "other content").ok());
  Result<ObjectInfo> third = store.Stat(ObjectKey("a.csv"));
  ASSERT_TRUE(third.ok());
  EXPECT_NE(first->version_tag, third->version_tag);
  EXPECT_EQ(store.Get(ObjectKey("a.csv")).value(), "other content");
}

TEST(object_store, ChecksumMismatchIsRefusedAndLeavesNothing) {
  TempDir tmp;
  LocalObjectStore store(tmp.path() / "bucket");
  fs::path source = tmp.path() / "source";
  WriteFile(source, "actual content");

  ObjectRef wrong_checksum = RefOf("a.csv", "actual content");
  wrong_checksum.checksum = Sha256("something else");
  Status put = store.Put(ObjectKey("a.csv"), source, wrong_checksum);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().kind, ErrorKind::kRetryable);
  EXPECT_NE(put.error().message.find("cannot put a.csv into file://"), std::string::npos)
      << put.error().message;

  ObjectRef wrong_size = RefOf("dir/b.csv", "actual content");
  wrong_size.size += 1;
  put = store.Put(ObjectKey("dir/b.csv"), source, wrong_size);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().kind, ErrorKind::kRetryable);

  EXPECT_EQ(store.Stat(ObjectKey("a.csv")).error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(store.Stat(ObjectKey("dir/b.csv")).error().kind, ErrorKind::kNotFound);
  EXPECT_TRUE(store.List()->empty());
  // The temporary copies are gone too.
  EXPECT_TRUE(fs::is_empty(tmp.path() / "bucket" / ".tmp"));
}

TEST(object_store, MismatchKeepsThePreviousObject) {
  TempDir tmp;
  LocalObjectStore store(tmp.path() / "bucket");
  ASSERT_TRUE(PutContent(store, tmp.path(), "a.csv", "old").ok());
  fs::path source = tmp.path() / "changed";
  WriteFile(source, "new but not what was announced");
  ASSERT_FALSE(store.Put(ObjectKey("a.csv"), source, RefOf("a.csv", "new")).ok());
  EXPECT_EQ(store.Get(ObjectKey("a.csv")).value(), "old");
}

TEST(object_store, MissingSourceIsNotFoundAndNamesTheObject) {
  TempDir tmp;
  LocalObjectStore store(tmp.path() / "bucket");
  Status put = store.Put(ObjectKey("customer_1.csv"), tmp.path() / "absent", RefOf("customer_1.csv", "x"));
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(put.error().message.rfind("cannot put customer_1.csv into " + store.Describe() + ": ", 0), 0u)
      << put.error().message;
}

TEST(object_store, KeyUnderAnObjectIsPermanent) {
  TempDir tmp;
  LocalObjectStore store(tmp.path() / "bucket");
  ASSERT_TRUE(PutContent(store, tmp.path(), "a", "file").ok());
  Status put = PutContent(store, tmp.path(), "a/b.csv", "below a file");
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().kind, ErrorKind::kPermanent) << put.error().message;
}

TEST(object_store, EscapingKeysAreRefused) {
  TempDir tmp;
  LocalObjectStore store(tmp.path() / "bucket");
  fs::path source = tmp.path() / "source";
  WriteFile(source, "x");
  const std::vector<std::string> bad = {"../x",
                                        "/abs",
                                        "a/../../b",
                                        "a/./b",
                                        ".",
                                        "..",
                                        "",
                                        "a//b",
                                        "a/",
                                        "a\\b",
                                        ".tmp/x",
                                        ".hidden",
                                        std::string("a\0b", 3),
                                        std::string(256, 'k')};
  for (const std::string& key : bad) {
    Status put = store.Put(ObjectKey(key), source, RefOf(key, "x"));
    ASSERT_FALSE(put.ok()) << key;
    EXPECT_EQ(put.error().kind, ErrorKind::kInvalidInput) << key << ": " << put.error().message;
    EXPECT_EQ(store.Get(ObjectKey(key)).error().kind, ErrorKind::kInvalidInput) << key;
    EXPECT_EQ(store.Stat(ObjectKey(key)).error().kind, ErrorKind::kInvalidInput) << key;
  }
  EXPECT_FALSE(fs::exists(tmp.path() / "x"));
  EXPECT_FALSE(fs::exists(tmp.path() / "b"));
  EXPECT_TRUE(store.List()->empty());
}

TEST(object_store, SymlinkedDirectoryIsRefused) {
  TempDir tmp;
  fs::path outside = tmp.path() / "outside";
  fs::create_directories(outside);
  WriteFile(outside / "secret.csv", "secret");
  LocalObjectStore store(tmp.path() / "bucket");
  fs::create_directory_symlink(outside, tmp.path() / "bucket" / "link");
  fs::create_symlink(outside / "secret.csv", tmp.path() / "bucket" / "file-link.csv");

  fs::path source = tmp.path() / "source";
  WriteFile(source, "x");
  Status put = store.Put(ObjectKey("link/x.csv"), source, RefOf("link/x.csv", "x"));
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().kind, ErrorKind::kInvalidInput) << put.error().message;
  EXPECT_FALSE(fs::exists(outside / "x.csv"));

  EXPECT_EQ(store.Get(ObjectKey("link/secret.csv")).error().kind, ErrorKind::kInvalidInput);
  EXPECT_EQ(store.Get(ObjectKey("file-link.csv")).error().kind, ErrorKind::kInvalidInput);
  EXPECT_EQ(store.Stat(ObjectKey("file-link.csv")).error().kind, ErrorKind::kInvalidInput);
  // Neither link is an object, and nothing behind them is listed.
  EXPECT_TRUE(store.List()->empty());
}

TEST(object_store, RootMayBeASymlink) {
  TempDir tmp;
  fs::create_directories(tmp.path() / "real");
  fs::create_directory_symlink(tmp.path() / "real", tmp.path() / "bucket");
  LocalObjectStore store(tmp.path() / "bucket");
  ASSERT_TRUE(PutContent(store, tmp.path(), "a.csv", "a").ok());
  EXPECT_EQ(Keys(store.List().value()), std::vector<std::string>{"a.csv"});
}

TEST(object_store, TemporaryAndHiddenFilesAreNotListed) {
  TempDir tmp;
  LocalObjectStore store(tmp.path() / "bucket");
  WriteFile(tmp.path() / "bucket" / ".tmp" / "put-123-unfinished", "half");
  WriteFile(tmp.path() / "bucket" / ".hidden.csv", "hidden");
  WriteFile(tmp.path() / "bucket" / ".git" / "config", "hidden dir");
  WriteFile(tmp.path() / "bucket" / "dir" / ".partial", "hidden");
  fs::create_directories(tmp.path() / "bucket" / "empty-dir");
  ASSERT_TRUE(PutContent(store, tmp.path(), "dir/visible.csv", "v").ok());
  EXPECT_EQ(Keys(store.List().value()), std::vector<std::string>{"dir/visible.csv"});
}

TEST(object_store, StaleTemporaryFilesAreRemovedAtStartup) {
  TempDir tmp;
  fs::path stale = tmp.path() / "bucket" / ".tmp" / "put-1-0-0";
  fs::path fresh = tmp.path() / "bucket" / ".tmp" / "put-1-0-1";
  WriteFile(stale, "left by a crash");
  WriteFile(fresh, "a put in progress");
  fs::last_write_time(stale, fs::file_time_type::clock::now() - std::chrono::hours(2));
  LocalObjectStore store(tmp.path() / "bucket");
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(fresh));
}

TEST(object_store, ConcurrentPutsAndLists) {
  TempDir tmp;
  LocalObjectStore store(tmp.path() / "bucket");
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      fs::path source = tmp.path() / fmt::format("source-{}", t);
      for (int i = 0; i < kPerThread; ++i) {
        std::string content = fmt::format("thread {} object {}", t, i);
        WriteFile(source, content);
        std::string key = fmt::format("t{}/o{:03}.csv", t, i);
        Status put = store.Put(ObjectKey(key), source, RefOf(key, content));
        EXPECT_TRUE(put.ok()) << put.error().message;
      }
    });
  }
  // Every listing taken meanwhile shows whole objects only.
  for (int i = 0; i < 20; ++i) {
    Result<std::vector<ObjectInfo>> listed = store.List();
    ASSERT_TRUE(listed.ok()) << listed.error().message;
    for (const ObjectInfo& info : *listed) {
      EXPECT_GT(info.size, 0u) << info.key.get();
    }
  }
  for (std::thread& writer : writers) {
    writer.join();
  }
  EXPECT_EQ(store.List()->size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(object_store_keys, ResolveKeyAcceptsPlainKeys) {
  TempDir tmp;
  Result<fs::path> path = ResolveKey(tmp.path(), ObjectKey("2025/01/customer_20250108111111.csv"));
  ASSERT_TRUE(path.ok()) << path.error().message;
  EXPECT_EQ(*path, tmp.path() / "2025" / "01" / "customer_20250108111111.csv");
  EXPECT_TRUE(ResolveKey(tmp.path(), ObjectKey("a..b/c.d")).ok());
}

TEST(object_store_keys, ResolveKeyRefusesEscapes) {
  TempDir tmp;
  fs::create_directories(tmp.path() / "outside");
  fs::create_directory_symlink(tmp.path() / "outside", tmp.path() / "link");
  for (const char* key : {"../x", "/abs", "a/../../b", "link/x", "link", "a\\..\\b"}) {
    Result<fs::path> path = ResolveKey(tmp.path(), ObjectKey(key));
    ASSERT_FALSE(path.ok()) << key;
    EXPECT_EQ(path.error().kind, ErrorKind::kInvalidInput) << key;
    EXPECT_NE(path.error().message.find(key), std::string::npos) << path.error().message;
  }
}

}  // namespace
}  // namespace dimstream
