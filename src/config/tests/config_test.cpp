#include "config/config.h"

#include <gtest/gtest.h>

namespace dimstream {
namespace {

TEST(ConfigTest, DefaultsWithoutFile) {
  auto c = ParseConfig("", "test.toml");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->merge_interval_ms, 1000u);
  EXPECT_EQ(c->loader_on_error, "continue");
  EXPECT_EQ(c->Landing(), std::filesystem::path("./dimstream-data/landing"));
  EXPECT_EQ(c->entity.history_table(), "customer_history");
}

TEST(ConfigTest, ReadsSectionsAndEntity) {
  auto c = ParseConfig(R"(
warehouse_path = "/tmp/x.duckdb"
[merge]
interval_ms = 250
[entity]
name = "product"
key_columns = ["product_id"]
scd1_columns = ["price"]
scd2_columns = ["category"]
sequence_column = ""
)",
                       "test.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->merge_interval_ms, 250u);
  EXPECT_EQ(c->Warehouse(), std::filesystem::path("/tmp/x.duckdb"));
  EXPECT_EQ(c->entity.raw_table(), "product_raw");
  EXPECT_TRUE(c->entity.sequence_column.empty());
}

TEST(ConfigTest, UnknownKeyIsNamed) {
  auto c = ParseConfig("[merge]\ninterval_msec = 5\n", "my.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("unknown configuration key 'merge.interval_msec'"), std::string::npos);
  EXPECT_NE(c.error().message.find("my.toml"), std::string::npos);
  auto d = ParseConfig("[nonsense]\nx = 1\n", "my.toml");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("'nonsense'"), std::string::npos);
}

TEST(ConfigTest, BadValuesAreNamed) {
  auto wrong_type = ParseConfig("[merge]\ninterval_ms = \"fast\"\n", "t.toml");
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_NE(wrong_type.error().message.find("'merge.interval_ms' must be an integer"), std::string::npos);
  auto out_of_range = ParseConfig("[merge]\ninterval_ms = 1\n", "t.toml");
  ASSERT_FALSE(out_of_range.ok());
  auto bad_choice = ParseConfig("[loader]\non_error = \"ignore\"\n", "t.toml");
  ASSERT_FALSE(bad_choice.ok());
  EXPECT_NE(bad_choice.error().message.find("continue"), std::string::npos);
  auto syntax = ParseConfig("[merge\n", "t.toml");
  ASSERT_FALSE(syntax.ok());
  EXPECT_NE(syntax.error().message.find("t.toml:1"), std::string::npos);
}

TEST(ConfigTest, HostileNamesAreRefused) {
  for (const char* name : {"x\\\"; DROP TABLE y; --", "Customer", "1abc", "_hidden", "a-b", ""}) {
    std::string toml = std::string("[entity]\nname = \"") + name + "\"\n";
    auto c = ParseConfig(toml, "t.toml");
    EXPECT_FALSE(c.ok()) << name;
  }
  auto dup = ParseConfig("[entity]\nscd1_columns = [\"city\"]\n", "t.toml");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message.find("declared twice"), std::string::npos);
  auto composite = ParseConfig("[entity]\nkey_columns = [\"a\", \"b\"]\n", "t.toml");
  EXPECT_FALSE(composite.ok());
}

TEST(ConfigTest, DefaultTomlParsesBack) {
  auto c = ParseConfig(DefaultConfigToml(), "defaults");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->entity.scd2_columns.size(), 4u);
}

TEST(ConfigTest, SecretsAreSourcesNeverValues) {
  auto c = ParseConfig(R"(
[secrets]
warehouse = { env = "DIMSTREAM_TEST_PG_PASSWORD" }
broker = { file = "/run/secrets/broker" }
)",
                       "s.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->secrets.size(), 2u);
  EXPECT_EQ(c->secrets.at("warehouse").kind, SecretSource::Kind::kEnv);
  EXPECT_EQ(c->secrets.at("warehouse").ref, "DIMSTREAM_TEST_PG_PASSWORD");
  EXPECT_EQ(c->secrets.at("broker").kind, SecretSource::Kind::kFile);
  setenv("DIMSTREAM_TEST_PG_PASSWORD", "pg-pass-123", 1);
  auto s = ReadConfiguredSecret(*c, "warehouse");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->Reveal(), "pg-pass-123");
  unsetenv("DIMSTREAM_TEST_PG_PASSWORD");
  auto unset = ReadConfiguredSecret(*c, "warehouse");
  ASSERT_FALSE(unset.ok());
  EXPECT_NE(unset.error().message.find("secrets.warehouse"), std::string::npos) << unset.error().message;
  EXPECT_FALSE(ReadConfiguredSecret(*c, "nope").ok());

  // A value written in the file is refused, and the message does not repeat it.
  for (const char* text :
       {"[secrets]\npw = \"hunter2-literal\"\n", "[secrets]\npw = { value = \"hunter2-literal\" }\n",
        "[secrets]\npw = { env = \"A\", file = \"B\" }\n", "[secrets]\npw = { env = \"\" }\n",
        "secrets = \"hunter2-literal\"\n", "[secrets]\n\"Bad Name\" = { env = \"A\" }\n"}) {
    auto bad = ParseConfig(text, "s.toml");
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_EQ(bad.error().kind, ErrorKind::kInvalidInput);
    EXPECT_EQ(bad.error().message.find("hunter2"), std::string::npos) << bad.error().message;
    EXPECT_NE(bad.error().message.find("s.toml"), std::string::npos) << bad.error().message;
  }
}

// toml++ 3.3.0 has undefined behaviour for some non-ASCII characters where whitespace may stand (see
// LineTomlCannotParseSafely); those places are refused before it parses, everything else passes through.
TEST(ConfigTest, NonAsciiOnlyInsideStringsAndComments) {
  auto fine = ParseConfig(
      "\xEF\xBB\xBF# caf\xC3\xA9 \xEF\xBB\x9F\n"
      "landing_dir = \"/data/caf\xC3\xA9/\xEF\xBB\x9F\" # \xC3\xA9\n"
      "bucket_dir = '/b/\xC3\xA9'\n"
      "warehouse_path = \"\"\"/w/\\\n   x\xC3\xA9\"\"\"\n"
      "log_level = '''info'''\n",
      "u.toml");
  ASSERT_TRUE(fine.ok()) << fine.error().message;
  EXPECT_EQ(fine->landing_dir, "/data/caf\xC3\xA9/\xEF\xBB\x9F");
  EXPECT_EQ(fine->warehouse_path, "/w/x\xC3\xA9");
  for (const char* text :
       {"[e\xEF\xBB\x9F\n", "x = 1 \xC2\xA1\n", "\n\n\xD0\x80 = 1\n", "x = 1979-05'\xC3\xA9'\n",
        "x = [1.'\xC3\xA9']\n", "x = 1979-05'['\xC3\xA9'\n", "\"\"\"a\\\xEF\xBB\xBA   ",
        "x = \"a\\  \xC3\xA9\"\n", "x = tru{\"\xC3\xA9\"\n", "x = 'a''\xC3\xA9'\n",
        "landing_dir = \"\"\"a\\\n  \xC3\xA9\"\"\"\n", "landing_dir = \"a\" \xC3\xA9\n"}) {
    auto bad = ParseConfig(text, "u.toml");
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_NE(bad.error().message.find("u.toml:"), std::string::npos) << bad.error().message;
  }
  // Strings in inline tables, quoted keys and headers are strings.
  auto inline_table = ParseConfig("[secrets]\nx = { env = \"\xC3\xA9\" }\n", "u.toml");
  ASSERT_TRUE(inline_table.ok()) << inline_table.error().message;
  EXPECT_EQ(inline_table->secrets.at("x").ref, "\xC3\xA9");
  for (const char* text : {"[\"entity\"]\nname = '\xC3\xA9'\n", "entity.\"name\" = '\xC3\xA9'\n",
                           "[secrets]\nx = { env = 'A', \"\xC3\xA9\" = 1 }\n"}) {
    auto refused_later = ParseConfig(text, "u.toml");
    ASSERT_FALSE(refused_later.ok()) << text;
    EXPECT_EQ(refused_later.error().message.find("non-ASCII character outside"), std::string::npos)
        << refused_later.error().message;
  }
  auto third = ParseConfig("\n\n\xD0\x80 = 1\n", "u.toml");
  EXPECT_NE(third.error().message.find("u.toml:3: a non-ASCII character"), std::string::npos)
      << third.error().message;
}

}  // namespace
}  // namespace dimstream
