#include "loader/record_parser.h"

#include <gtest/gtest.h>

namespace dimstream {
namespace {

ParsedObject Parse(std::string_view csv, ParseOptions options = {}) {
  ParsedObject out;
  ParseObject(csv, EntitySpec{}, options, out);
  return out;
}

std::string Attr(const ParsedObject& p, size_t attr, size_t row) {
  const TextRef& t = p.rows.attributes[attr][row];
  return t.null ? "<NULL>" : std::string(t.value);
}

TEST(RecordParserTest, SeedFormatLoads) {
  auto p = Parse(
      "customer_id,first_name,last_name,email,street,city,state,country\r\n"
      "0,Mia,Moore,dmejia@example.com,952 Campbell Shores Apt. 622,Davidside,Wyoming,Moldova\r\n"
      "1,\"O'Brien, Jr\",\"Say \"\"hi\"\"\",,\"1 Main St\r\nRear\",Zoë,,Chile\r\n");
  ASSERT_FALSE(p.failed) << p.error;
  ASSERT_EQ(p.rows.size(), 2u);
  EXPECT_TRUE(p.rejects.empty());
  EXPECT_EQ(p.rows.key[1], 1);
  EXPECT_EQ(Attr(p, 0, 1), "O'Brien, Jr");
  EXPECT_EQ(Attr(p, 1, 1), "Say \"hi\"");
  EXPECT_EQ(Attr(p, 2, 1), "<NULL>");
  EXPECT_EQ(Attr(p, 3, 1), "1 Main St\r\nRear");
  EXPECT_EQ(Attr(p, 4, 1), "Zoë");
  EXPECT_EQ(p.rows.line[0], 2u);
  EXPECT_EQ(p.rows.line[1], 3u);
  EXPECT_EQ(p.rows.op[0], 'U');
  EXPECT_TRUE(p.rows.event_time.empty());
}

TEST(RecordParserTest, ColumnsByNameInAnyOrderAndCase) {
  auto p = Parse(
      "Country,CUSTOMER_ID,City,Op,Updated_At\n"
      "Peru,7,Lima,d,2025-01-01T10:00:00+02:00\n");
  ASSERT_FALSE(p.failed) << p.error;
  ASSERT_EQ(p.rows.size(), 1u);
  EXPECT_EQ(p.rows.key[0], 7);
  EXPECT_EQ(Attr(p, 6, 0), "Peru");
  EXPECT_EQ(Attr(p, 4, 0), "Lima");
  EXPECT_EQ(Attr(p, 0, 0), "<NULL>");  // missing column: NULL for every row
  EXPECT_EQ(p.rows.op[0], 'D');
  ASSERT_EQ(p.rows.event_time.size(), 1u);
  EXPECT_EQ(p.rows.event_time[0], 1735718400LL * 1000000);  // 08:00 UTC
}

TEST(RecordParserTest, BadRowsAreRejectedWithReasonsAndTheRestLoads) {
  auto p = Parse(
      "customer_id,first_name,updated_at,op\n"
      "1,Ann,2025-01-01,I\n"
      "2,Bob\n"
      "x3,Cy,2025-01-01,U\n"
      ",Di,2025-01-01,U\n"
      "5,Ed,,U\n"
      "6,Flo,not a date,U\n"
      "7,Gus,2025-01-01,X\n"
      "8,\xff\xfe,2025-01-01,U\n"
      " +09 ,Hal,2025-01-01,\n");
  ASSERT_FALSE(p.failed);
  ASSERT_EQ(p.rows.size(), 2u);
  EXPECT_EQ(p.rows.key[0], 1);
  EXPECT_EQ(p.rows.key[1], 9);
  EXPECT_EQ(p.rows.op[1], 'U');
  ASSERT_EQ(p.rejects.size(), 7u);
  EXPECT_EQ(p.rejects[0].line, 3u);
  EXPECT_EQ(p.rejects[0].reason, "line 3 has 2 fields, the header has 4");
  EXPECT_EQ(p.rejects[0].raw, "2,Bob");
  EXPECT_EQ(p.rejects[1].reason, "customer_id 'x3' is not a 64-bit integer");
  EXPECT_EQ(p.rejects[2].reason, "customer_id is empty");
  EXPECT_EQ(p.rejects[3].reason, "updated_at is empty");
  EXPECT_NE(p.rejects[4].reason.find("'not a date' is not an ISO-8601 timestamp"), std::string::npos);
  EXPECT_EQ(p.rejects[5].reason, "op 'X' is not I, U or D");
  EXPECT_EQ(p.rejects[6].reason, "the row is not valid UTF-8");
  EXPECT_EQ(p.rejects[6].raw, "8,\\xFF\\xFE,2025-01-01,U");
}

TEST(RecordParserTest, WholeFileFailures) {
  EXPECT_EQ(Parse("").error, "the file is empty: a header row is required");
  auto no_key = Parse("id,first_name\n1,A\n");
  EXPECT_TRUE(no_key.failed);
  EXPECT_NE(no_key.error.find("no 'customer_id' column"), std::string::npos);
  auto semicolon = Parse("customer_id;first_name\n1;A\n");
  EXPECT_TRUE(semicolon.failed);
  EXPECT_NE(semicolon.error.find("delimited by ';'"), std::string::npos);
  auto dup = Parse("customer_id,city,City\n1,a,b\n");
  EXPECT_TRUE(dup.failed);
  EXPECT_NE(dup.error.find("'city' twice"), std::string::npos);
  auto binary = Parse(std::string("\x00\x01\xff\xfe garbage", 12));
  EXPECT_TRUE(binary.failed);
}

TEST(RecordParserTest, HeaderOnlyLoadsNothing) {
  auto p = Parse("customer_id,first_name\r\n");
  EXPECT_FALSE(p.failed);
  EXPECT_EQ(p.rows.size(), 0u);
  EXPECT_TRUE(p.rejects.empty());
}

TEST(RecordParserTest, AbortStopsAtFirstReject) {
  ParseOptions o;
  o.stop_at_first_reject = true;
  auto p = Parse("customer_id\n1\nx\ny\n2\n", o);
  EXPECT_EQ(p.rejects.size(), 1u);
}

TEST(RecordParserTest, RejectTextIsCut) {
  ParseOptions o;
  o.max_reject_bytes = 100;
  std::string long_row = "x" + std::string(1000, 'a');
  auto p = Parse("customer_id\n" + long_row + "\n", o);
  ASSERT_EQ(p.rejects.size(), 1u);
  EXPECT_LE(p.rejects[0].raw.size(), 100u);
}

TEST(RecordParserTest, KeysAndHashes) {
  EXPECT_EQ(ParseKey(" 007 "), 7);
  EXPECT_EQ(ParseKey("-12"), -12);
  EXPECT_EQ(ParseKey("+12"), 12);
  EXPECT_FALSE(ParseKey("9223372036854775808"));
  EXPECT_FALSE(ParseKey("1.5"));
  EXPECT_FALSE(ParseKey("+-1"));
  EXPECT_FALSE(ParseKey("1 2"));
  TextRef null_value;
  TextRef empty{"", false};
  TextRef a{"a", false};
  TextRef ab{"ab", false};
  TextRef b{"b", false};
  EXPECT_NE(HashAttributes({null_value}), HashAttributes({empty}));
  EXPECT_NE(HashAttributes({a, b}), HashAttributes({ab, null_value}));
  EXPECT_EQ(HashAttributes({a, null_value}), HashAttributes({a, null_value}));
}

}  // namespace
}  // namespace dimstream
