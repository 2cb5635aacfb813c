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

}  // namespace
}  // namespace dimstream
