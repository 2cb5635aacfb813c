#include "object_store/s3/s3_object_store.h"

#include <unistd.h>

#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/checksum.h"
#include "common/testing/test_dir.h"
#include "common/testing/test_server.h"

// Against a real S3 server: Ceph's radosgw, started for the test run by scripts/servers/rgw.sh (the CTest
// fixture `rgw`). Every test works in a bucket of its own, so that they can run at the same time.
namespace dimstream {
namespace {

namespace fs = std::filesystem;
using test_support::TestDir;

std::string Random(size_t bytes, uint32_t seed) {
  std::mt19937 random(seed);
  std::string out(bytes, '\0');
  for (char& c : out) {
    c = static_cast<char>(random());
  }
  return out;
}

class S3ObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    endpoint_ = test_support::TestServerValue("rgw", "endpoint", &why);
    ASSERT_FALSE(endpoint_.empty()) << why;
    std::random_device random;
    bucket_ = fmt::format("dimstream-test-{}-{:08x}", ::getpid(), random());
    Status created = Store().CreateBucket();
    ASSERT_TRUE(created.ok()) << created.error().message;
  }

  s3::S3Location Location() const {
    s3::S3Location location;
    location.endpoint = endpoint_;
    location.bucket = bucket_;
    location.access_key = "AKDIM";
    location.secret_key = "SKDIMSECRET";
    location.first_backoff = std::chrono::milliseconds(10);
    return location;
  }

  // The test's bucket under `prefix`, spooling into the test's directory; tests change what they test.
  S3ObjectStore::Options Options(const std::string& prefix = "incoming/") const {
    S3ObjectStore::Options options;
    options.location = Location();
    options.prefix = prefix;
    options.spool_dir = dir_.path();
    return options;
  }

  S3ObjectStore Store(const std::string& prefix = "incoming/") const {
    return S3ObjectStore(Options(prefix));
  }

  // Writes `content` to a file of its own and puts it under `key`.
  Status PutContent(S3ObjectStore& store, const std::string& key, const std::string& content) {
    fs::path source = dir_.path() / fmt::format("source-{}", ++sources_);
    std::ofstream(source, std::ios::binary) << content;
    return store.Put(ObjectKey(key), source, ObjectRef{ObjectKey(key), content.size(), Sha256(content)});
  }

  static std::vector<std::string> Keys(const std::vector<ObjectInfo>& infos) {
    std::vector<std::string> keys;
    for (const ObjectInfo& info : infos) {
      keys.push_back(info.key.get());
    }
    return keys;
  }

  static std::string ReadAll(ByteStream& stream) {
    std::string out;
    char buffer[4096];
    while (true) {
      auto n = stream.Read(buffer, sizeof buffer);
      EXPECT_TRUE(n.ok());
      if (!n.ok() || *n == 0) {
        return out;
      }
      out.append(buffer, *n);
    }
  }

  TestDir dir_{"dimstream-s3"};
  std::string endpoint_;
  std::string bucket_;
  int sources_ = 0;
};

TEST_F(S3ObjectStoreTest, PutListStatGetOpen) {
  S3ObjectStore store = Store();
  EXPECT_EQ(store.Describe(), fmt::format("s3://{}/incoming/ ({})", bucket_, endpoint_));
  // Keys that need escaping in a URL path and in a query: a space, '+', '=', '%', UTF-8.
  const std::vector<std::string> keys = {"2026/12/a b+c=d%20.csv", "2026/12/\xc3\xa9t\xc3\xa9.csv", "a.csv"};
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_TRUE(PutContent(store, keys[i], fmt::format("id\n{}\n", i)).ok()) << keys[i];
  }
  auto listed = store.List();
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(Keys(*listed), sorted);

  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string content = fmt::format("id\n{}\n", i);
    auto stat = store.Stat(ObjectKey(keys[i]));
    ASSERT_TRUE(stat.ok()) << stat.error().message;
    EXPECT_EQ(stat->size, content.size());
    EXPECT_FALSE(stat->version_tag.empty());
    auto got = store.Get(ObjectKey(keys[i]));
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(*got, content);
    auto stream = store.Open(ObjectKey(keys[i]));
    ASSERT_TRUE(stream.ok()) << stream.error().message;
    EXPECT_EQ(ReadAll(**stream), content);
  }
  // The listing's sizes and tags are the stat's.
  for (const ObjectInfo& info : *listed) {
    auto stat = store.Stat(info.key);
    ASSERT_TRUE(stat.ok());
    EXPECT_EQ(stat->size, info.size);
    EXPECT_EQ(stat->version_tag, info.version_tag);
  }
  // Open spools to a temporary file that is gone once the stream has been opened.
  for (const auto& entry : fs::directory_iterator(dir_.path())) {
    EXPECT_EQ(entry.path().filename().string().rfind("source-", 0), 0u) << entry.path();
  }
}

TEST_F(S3ObjectStoreTest, MissingObjectsAreNotFound) {
  S3ObjectStore store = Store();
  auto stat = store.Stat(ObjectKey("absent.csv"));
  ASSERT_FALSE(stat.ok());
  EXPECT_EQ(stat.error().kind, ErrorKind::kNotFound);
  auto got = store.Get(ObjectKey("absent.csv"));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().kind, ErrorKind::kNotFound);
  auto stream = store.Open(ObjectKey("absent.csv"));
  ASSERT_FALSE(stream.ok());
  EXPECT_EQ(stream.error().kind, ErrorKind::kNotFound);
  auto listed = store.List();
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
}

TEST_F(S3ObjectStoreTest, KeysFollowTheLocalBucketsRules) {
  S3ObjectStore store = Store();
  for (const std::string key : {"../x.csv", "/abs.csv", "a//b.csv", ".hidden.csv", "a\\b.csv"}) {
    Status put = PutContent(store, key, "id\n1\n");
    ASSERT_FALSE(put.ok()) << key;
    EXPECT_EQ(put.error().kind, ErrorKind::kInvalidInput) << key;
    auto stat = store.Stat(ObjectKey(key));
    ASSERT_FALSE(stat.ok());
    EXPECT_EQ(stat.error().kind, ErrorKind::kInvalidInput) << key;
  }
}

TEST_F(S3ObjectStoreTest, APutNeverOverwrites) {
  S3ObjectStore store = Store();
  ASSERT_TRUE(PutContent(store, "k.csv", "id\n1\n").ok());
  // The same bytes again (a put repeated after a crash): a success, nothing changes.
  auto before = store.Stat(ObjectKey("k.csv"));
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(PutContent(store, "k.csv", "id\n1\n").ok());
  // Other bytes under the same key: refused for good, the first object stays.
  Status other = PutContent(store, "k.csv", "id\n2\n");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().kind, ErrorKind::kPermanent);
  EXPECT_NE(other.error().message.find("already holds another object"), std::string::npos)
      << other.error().message;
  auto got = store.Get(ObjectKey("k.csv"));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "id\n1\n");
  auto after = store.Stat(ObjectKey("k.csv"));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->version_tag, before->version_tag);
}

TEST_F(S3ObjectStoreTest, RacingPutsLeaveOneWholeObject) {
  // Eight movers put different 1 MiB files under one key at once: exactly one wins, the others are refused,
  // and the object is the winner's, whole.
  constexpr int kPutters = 8;
  std::vector<std::string> contents;
  for (int i = 0; i < kPutters; ++i) {
    contents.push_back(Random(1 << 20, static_cast<uint32_t>(i)));
  }
  std::vector<fs::path> sources;
  for (int i = 0; i < kPutters; ++i) {
    sources.push_back(dir_.path() / fmt::format("racer-{}", i));
    std::ofstream(sources.back(), std::ios::binary) << contents[static_cast<size_t>(i)];
  }
  std::vector<Status> results(kPutters, Ok());
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < kPutters; ++i) {
      threads.emplace_back([&, i] {
        S3ObjectStore store = Store();
        const std::string& content = contents[static_cast<size_t>(i)];
        results[static_cast<size_t>(i)] =
            store.Put(ObjectKey("race.bin"), sources[static_cast<size_t>(i)],
                      ObjectRef{ObjectKey("race.bin"), content.size(), Sha256(content)});
      });
    }
    for (std::thread& t : threads) {
      t.join();
    }
  }
  int winners = 0;
  int winner = -1;
  for (int i = 0; i < kPutters; ++i) {
    const Status& s = results[static_cast<size_t>(i)];
    if (s.ok()) {
      ++winners;
      winner = i;
    } else {
      EXPECT_EQ(s.error().kind, ErrorKind::kPermanent) << s.error().message;
    }
  }
  ASSERT_EQ(winners, 1);
  auto got = Store().Get(ObjectKey("race.bin"));
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == contents[static_cast<size_t>(winner)]);
}

TEST_F(S3ObjectStoreTest, ABodyThatDoesNotMatchItsChecksumIsRefused) {
  // The file changed between the mover's hash and the put: the server refuses the body, the put can be
  // tried again (kRetryable), and no object appears.
  S3ObjectStore store = Store();
  fs::path source = dir_.path() / "changed";
  std::ofstream(source, std::ios::binary) << "id\n2\n";
  const std::string hashed = "id\n1\n";
  Status put =
      store.Put(ObjectKey("c.csv"), source, ObjectRef{ObjectKey("c.csv"), hashed.size(), Sha256(hashed)});
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().kind, ErrorKind::kRetryable) << put.error().message;
  auto stat = store.Stat(ObjectKey("c.csv"));
  ASSERT_FALSE(stat.ok());
  EXPECT_EQ(stat.error().kind, ErrorKind::kNotFound);
}

TEST_F(S3ObjectStoreTest, LargeFilesGoUpInParts) {
  S3ObjectStore::Options options = Options("big/");
  options.multipart_from = 6 << 20;
  options.part_size = 5 << 20;
  S3ObjectStore store(options);
  // 12 MiB + 17 bytes: three parts, the last one small.
  const std::string content = Random((12 << 20) + 17, 7);
  fs::path source = dir_.path() / "big";
  std::ofstream(source, std::ios::binary) << content;
  const ObjectRef ref{ObjectKey("big.bin"), content.size(), Sha256(content)};
  ASSERT_TRUE(store.Put(ObjectKey("big.bin"), source, ref).ok());
  auto stat = store.Stat(ObjectKey("big.bin"));
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(stat->size, content.size());
  EXPECT_NE(stat->version_tag.find("-3"), std::string::npos)
      << "a multipart ETag ends in -<parts>: " << stat->version_tag;
  auto stream = store.Open(ObjectKey("big.bin"));
  ASSERT_TRUE(stream.ok());
  EXPECT_TRUE(ReadAll(**stream) == content);
  // Again: already there, a success; other bytes: refused, the object unchanged.
  ASSERT_TRUE(store.Put(ObjectKey("big.bin"), source, ref).ok());
  const std::string other = Random((12 << 20) + 17, 8);
  std::ofstream(source, std::ios::binary | std::ios::trunc) << other;
  Status again =
      store.Put(ObjectKey("big.bin"), source, ObjectRef{ObjectKey("big.bin"), other.size(), Sha256(other)});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kPermanent) << again.error().message;
  auto got = store.Get(ObjectKey("big.bin"));
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == content);
}

TEST_F(S3ObjectStoreTest, ListingPagesAndPrefixes) {
  S3ObjectStore::Options options = Options("incoming");  // a '/' is added
  options.list_page = 2;
  S3ObjectStore store(options);
  std::vector<std::string> expected;
  for (int i = 0; i < 7; ++i) {
    expected.push_back(fmt::format("f{:02}.csv", i));
    ASSERT_TRUE(PutContent(store, expected.back(), "id\n1\n").ok());
  }
  // Another prefix of the same bucket, and one that starts like it: not listed.
  S3ObjectStore other = Store("incoming-old/");
  ASSERT_TRUE(PutContent(other, "f99.csv", "id\n1\n").ok());
  S3ObjectStore root = Store("");
  auto listed = store.List();
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  EXPECT_EQ(Keys(*listed), expected);
  auto all = root.List();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), expected.size() + 1);
  EXPECT_EQ(all->back().key.get(), "incoming/f06.csv");
}

TEST_F(S3ObjectStoreTest, WrongCredentialsArePermanent) {
  S3ObjectStore::Options options = Options();
  options.location.secret_key = "not-the-secret";
  S3ObjectStore store(options);
  auto listed = store.List();
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().kind, ErrorKind::kPermanent) << listed.error().message;
  EXPECT_EQ(listed.error().message.find("not-the-secret"), std::string::npos);
  EXPECT_EQ(listed.error().message.find("SKDIMSECRET"), std::string::npos);
}

TEST_F(S3ObjectStoreTest, AnUnreachableEndpointIsRetryable) {
  // A port nothing listens on: every try fails on the network, after the tries the error says to wait.
  S3ObjectStore::Options options = Options();
  options.location.endpoint = "http://127.0.0.1:1";
  options.location.max_attempts = 2;
  S3ObjectStore store(options);
  auto listed = store.List();
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().kind, ErrorKind::kRetryable) << listed.error().message;
  EXPECT_NE(listed.error().message.find("after 2 tries"), std::string::npos) << listed.error().message;
}

// The same radosgw over TLS (its second listener, with a self-signed certificate for 127.0.0.1): the test
// bucket's options at the https:// endpoint, verified against `ca_file` (empty: the system's authorities).
class S3ObjectStoreTlsTest : public S3ObjectStoreTest {
 protected:
  void SetUp() override {
    S3ObjectStoreTest::SetUp();
    std::string why;
    https_endpoint_ = test_support::TestServerValue("rgw", "https_endpoint", &why);
    ASSERT_FALSE(https_endpoint_.empty()) << why;
    ASSERT_TRUE(https_endpoint_.starts_with("https://")) << https_endpoint_;
  }

  S3ObjectStore::Options TlsOptions(const std::string& ca_file) const {
    S3ObjectStore::Options options = Options();
    options.location.endpoint = https_endpoint_;
    options.location.ca_file = ca_file;
    return options;
  }

  std::string https_endpoint_;
};

TEST_F(S3ObjectStoreTlsTest, PutListGetOverHttpsWithTheTestCa) {
  const fs::path ca = test_support::TestServerFile("rgw", "ca.crt");
  ASSERT_TRUE(fs::exists(ca)) << ca;
  S3ObjectStore store(TlsOptions(ca.string()));
  EXPECT_EQ(store.Describe(), fmt::format("s3://{}/incoming/ ({})", bucket_, https_endpoint_));
  const std::string content = Random(200000, 14);
  Status put = PutContent(store, "2026/12/tls.csv", content);
  ASSERT_TRUE(put.ok()) << put.error().message;
  auto listed = store.List();
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  EXPECT_EQ(Keys(*listed), std::vector<std::string>{"2026/12/tls.csv"});
  auto got = store.Get(ObjectKey("2026/12/tls.csv"));
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(*got, content);
  auto stream = store.Open(ObjectKey("2026/12/tls.csv"));
  ASSERT_TRUE(stream.ok()) << stream.error().message;
  EXPECT_EQ(ReadAll(**stream), content);
  // The plain listener's store sees the same object.
  auto plain = Store().Get(ObjectKey("2026/12/tls.csv"));
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(*plain, content);
}

TEST_F(S3ObjectStoreTlsTest, ACertificateThatDoesNotVerifyIsPermanent) {
  // Without ca_file, the system's authorities: they did not sign the test certificate. The first try says
  // so and is the last (no "after 5 tries"): trying again would not make it verify.
  S3ObjectStore system_authorities(TlsOptions(""));
  auto listed = system_authorities.List();
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().kind, ErrorKind::kPermanent) << listed.error().message;
  EXPECT_NE(listed.error().message.find("did not verify against the system's authorities"), std::string::npos)
      << listed.error().message;
  EXPECT_NE(listed.error().message.find("object_store.ca_file"), std::string::npos) << listed.error().message;
  EXPECT_EQ(listed.error().message.find("tries"), std::string::npos) << listed.error().message;
  EXPECT_EQ(listed.error().message.find("SKDIMSECRET"), std::string::npos);
  const fs::path source = dir_.path() / "refused.csv";
  std::ofstream(source) << "id\n1\n";
  Status put = system_authorities.Put(ObjectKey("refused.csv"), source,
                                      ObjectRef{ObjectKey("refused.csv"), 5, Sha256("id\n1\n")});
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().kind, ErrorKind::kPermanent) << put.error().message;
  auto stat = Store().Stat(ObjectKey("refused.csv"));
  ASSERT_FALSE(stat.ok());
  EXPECT_EQ(stat.error().kind, ErrorKind::kNotFound);

  // The test CA, but another name for the host than the certificate's (IP:127.0.0.1): the name is verified.
  S3ObjectStore::Options other_name = TlsOptions(test_support::TestServerFile("rgw", "ca.crt").string());
  other_name.location.endpoint.replace(other_name.location.endpoint.find("127.0.0.1"), 9, "localhost");
  auto by_name = S3ObjectStore(other_name).List();
  ASSERT_FALSE(by_name.ok());
  EXPECT_EQ(by_name.error().kind, ErrorKind::kPermanent) << by_name.error().message;
  EXPECT_NE(by_name.error().message.find("did not verify against the authorities in"), std::string::npos)
      << by_name.error().message;

  // A CA file that cannot be read is permanent too, and named.
  S3ObjectStore missing_ca(TlsOptions((dir_.path() / "no-such-ca.crt").string()));
  auto missing = missing_ca.List();
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kPermanent) << missing.error().message;
  EXPECT_NE(missing.error().message.find("no-such-ca.crt"), std::string::npos) << missing.error().message;
}

}  // namespace
}  // namespace dimstream
