#include "warehouse/sql.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace dimstream {
namespace {

// Each text with the first keyword FirstKeyword finds in it.
void ExpectKeywords(const std::vector<std::pair<std::string_view, std::string>>& cases) {
  for (const auto& [sql, keyword] : cases) {
    EXPECT_EQ(FirstKeyword(sql), keyword) << sql;
  }
}

TEST(FirstKeywordTest, IsTheFirstWordUpperCased) {
  ExpectKeywords({{"select 1", "SELECT"},
                  {"Insert INTO t VALUES (1)", "INSERT"},
                  {"with_x", "WITH_X"},
                  {"pg_sleep1(2)", "PG_SLEEP1"}});
}

TEST(FirstKeywordTest, SkipsWhitespaceCommentsAndParentheses) {
  ExpectKeywords({{" \t\r\n\f\vSELECT 1", "SELECT"},
                  {"-- a comment\nDELETE FROM t", "DELETE"},
                  {"-- one\n  -- two\r\n copy t TO '/tmp/x'", "COPY"},
                  {"/* a comment */ SET work_mem = '1GB'", "SET"},
                  {"/* outer /* nested */ still a comment */ drop table t", "DROP"},
                  {"((  (select 1)))", "SELECT"},
                  {"( /* c */ -- d\n ( values (1)))", "VALUES"}});
}

TEST(FirstKeywordTest, IsEmptyWithoutAWordFirst) {
  ExpectKeywords({{"", ""},
                  {"   -- only a comment", ""},
                  {"/* unterminated SELECT", ""},
                  {"'SELECT'", ""},
                  {"\"select\"", ""},
                  {"1 SELECT", ""},
                  {"; SELECT 1", ""},
                  {"- - SELECT", ""}});
}

TEST(FirstKeywordTest, GivesTheTextAfterTheWord) {
  std::string_view rest;
  EXPECT_EQ(FirstKeyword("  EXPLAIN ANALYZE SELECT 1", &rest), "EXPLAIN");
  EXPECT_EQ(rest, " ANALYZE SELECT 1");
  EXPECT_EQ(FirstKeyword(rest, &rest), "ANALYZE");
  EXPECT_EQ(rest, " SELECT 1");
  EXPECT_EQ(FirstKeyword("  -- x\n'a'", &rest), "");
  EXPECT_EQ(rest, "'a'");
}

TEST(IsReadingKeywordTest, AcceptsTheStatementsThatRead) {
  for (const char* k : {"SELECT", "WITH", "VALUES", "TABLE", "EXPLAIN"}) {
    EXPECT_TRUE(IsReadingKeyword(k)) << k;
  }
  for (const char* k :
       {"",      "INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "DROP", "ALTER",    "COPY",   "SET",
        "RESET", "BEGIN",  "COMMIT", "START",  "CALL",  "DO",     "LOCK", "TRUNCATE", "select", "SELECTX"}) {
    EXPECT_FALSE(IsReadingKeyword(k)) << k;
  }
  EXPECT_TRUE(IsReadingKeyword(FirstKeyword("(with x as (select 1) select * from x)")));
  EXPECT_FALSE(IsReadingKeyword(FirstKeyword("/* SELECT */ INSERT INTO t VALUES (1)")));
}

}  // namespace
}  // namespace dimstream
