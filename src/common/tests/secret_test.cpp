#include "common/secret.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/testing/test_dir.h"

namespace dimstream {
namespace {

class SecretFile : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content, mode_t mode) {
    auto path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    chmod(path.c_str(), mode);
    return path;
  }
  test_support::TestDir tmp_{"dimstream_secret"};
  std::filesystem::path dir_ = tmp_.path();
};

TEST(SecretTest, FromTheEnvironment) {
  setenv("DIMSTREAM_TEST_SECRET", "s3cret-from-env", 1);
  auto s = ReadSecret({SecretSource::Kind::kEnv, "DIMSTREAM_TEST_SECRET"});
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->Reveal(), "s3cret-from-env");
  unsetenv("DIMSTREAM_TEST_SECRET");
}

TEST(SecretTest, MissingOrEmptyVariableIsNamed) {
  unsetenv("DIMSTREAM_TEST_UNSET");
  auto s = ReadSecret({SecretSource::Kind::kEnv, "DIMSTREAM_TEST_UNSET"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::kInvalidInput);
  EXPECT_NE(s.error().message.find("DIMSTREAM_TEST_UNSET is not set"), std::string::npos)
      << s.error().message;
  setenv("DIMSTREAM_TEST_EMPTY", "", 1);
  auto e = ReadSecret({SecretSource::Kind::kEnv, "DIMSTREAM_TEST_EMPTY"});
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("empty"), std::string::npos) << e.error().message;
  unsetenv("DIMSTREAM_TEST_EMPTY");
}

TEST_F(SecretFile, PrivateFileWithoutItsLineBreak) {
  auto s = ReadSecret({SecretSource::Kind::kFile, Write("pw", "p@ss word\n", 0600)});
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->Reveal(), "p@ss word");
  auto crlf = ReadSecret({SecretSource::Kind::kFile, Write("pw2", "another-one\r\n", 0400)});
  ASSERT_TRUE(crlf.ok()) << crlf.error().message;
  EXPECT_EQ(crlf->Reveal(), "another-one");
}

TEST_F(SecretFile, FileOthersMayReadIsRefusedWithTheFix) {
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602}) {
    std::string path = Write("open", "visible-secret\n", mode);
    auto s = ReadSecret({SecretSource::Kind::kFile, path});
    ASSERT_FALSE(s.ok()) << std::oct << mode;
    EXPECT_EQ(s.error().kind, ErrorKind::kInvalidInput);
    EXPECT_NE(s.error().message.find("chmod 600 " + path), std::string::npos) << s.error().message;
    EXPECT_EQ(s.error().message.find("visible-secret"), std::string::npos)
        << "the value leaked into the error";
  }
}

TEST_F(SecretFile, MissingFileAndDirectoryAreRefused) {
  EXPECT_FALSE(ReadSecret({SecretSource::Kind::kFile, (dir_ / "none").string()}).ok());
  EXPECT_FALSE(ReadSecret({SecretSource::Kind::kFile, dir_.string()}).ok());
}

TEST(SecretTest, NeverFormattedAndRedactedFromText) {
  setenv("DIMSTREAM_TEST_REDACT", "tok-9f8e7d6c", 1);
  auto s = ReadSecret({SecretSource::Kind::kEnv, "DIMSTREAM_TEST_REDACT"});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(fmt::format("password={}", *s), "password=***");
  EXPECT_EQ(Redact("connect: password=tok-9f8e7d6c failed (tok-9f8e7d6c)"),
            "connect: password=*** failed (***)");
  EXPECT_EQ(Redact("nothing secret here"), "nothing secret here");
  unsetenv("DIMSTREAM_TEST_REDACT");
}

}  // namespace
}  // namespace dimstream
