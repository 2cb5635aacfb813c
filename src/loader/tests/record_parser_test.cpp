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

// Hostile input (tests/hostile): lines ended by CR alone, header names that clash, NUL bytes, and a line
// made of delimiters.
TEST(RecordParserTest, LinesEndedByCrAloneFailTheFile) {
  // Read as one header line, the rows would vanish into it; the file fails whole and says why.
  auto p = Parse("customer_id,city\r1,Paris\r2,Lyon\r");
  EXPECT_TRUE(p.failed);
  EXPECT_NE(p.error.find("carriage return"), std::string::npos) << p.error;
  EXPECT_NE(p.error.find("LF or CRLF"), std::string::npos) << p.error;
  // Values that repeat must not turn it into a confusing duplicate-column error instead.
  auto q = Parse("customer_id,city\r1,c\r2,c\r");
  EXPECT_NE(q.error.find("carriage return"), std::string::npos) << q.error;
  // CRLF is a line ending, not a CR inside the header.
  EXPECT_FALSE(Parse("customer_id,city\r\n1,Paris\r\n").failed);
}

TEST(RecordParserTest, DuplicateHeaderNamesSayWhichColumns) {
  auto dup = Parse("customer_id,city,email,CITY \n1,a,b,c\n");
  EXPECT_TRUE(dup.failed);
  EXPECT_EQ(dup.error, "the header names column 'city' twice (columns 2 and 4)");
  auto unnamed = Parse("customer_id,city,,\n1,a,,\n");
  EXPECT_TRUE(unnamed.failed);
  EXPECT_NE(unnamed.error.find("more than one column without a name (columns 3 and 4)"), std::string::npos)
      << unnamed.error;
  // One unnamed column is fine: it is not one of the entity's, so it is ignored.
  auto one = Parse("customer_id,city,\n1,a,\n2,b\n");
  EXPECT_FALSE(one.failed) << one.error;
  EXPECT_EQ(one.rows.size(), 1u);
  ASSERT_EQ(one.rejects.size(), 1u);
  EXPECT_EQ(one.rejects[0].reason, "line 3 has 2 fields, the header has 3");
  // Many distinct columns are mapped in linear time (this took minutes with a quadratic scan).
  std::string header = "customer_id";
  std::string row = "1";
  for (int i = 0; i < 200000; ++i) {
    header += ",c" + std::to_string(i);
    row += ",";
  }
  auto wide = Parse(header + "\n" + row + "\n");
  EXPECT_FALSE(wide.failed) << wide.error;
  EXPECT_EQ(wide.rows.size(), 1u);
}

TEST(RecordParserTest, NulBytesLoadAsDataAndAreEscapedInRejects) {
  const std::string csv("customer_id,first_name\n1,a\0b\n\0,x\n", 33);  // the rows point into it
  auto p = Parse(csv);
  ASSERT_FALSE(p.failed) << p.error;
  ASSERT_EQ(p.rows.size(), 1u);
  EXPECT_EQ(Attr(p, 0, 0), std::string("a\0b", 3));
  ASSERT_EQ(p.rejects.size(), 1u);
  EXPECT_EQ(p.rejects[0].raw, "\\x00,x");
  EXPECT_EQ(p.rejects[0].reason, "customer_id '\\x00' is not a 64-bit integer");
  EXPECT_EQ(PrintableUtf8(std::string("a\0", 2), 4), "a");  // an escape is never cut in half
}

TEST(RecordParserTest, LineOfDelimitersIsRejectedNotHeldInMemory) {
  // A line of 2 MiB commas would be two million fields: rejected (with its text cut) instead of costing
  // 16 bytes per comma; the rows around it load.
  std::string commas(2 << 20, ',');
  auto p = Parse("customer_id,city\n1,a\n2" + commas + "\n3,b\n");
  ASSERT_FALSE(p.failed) << p.error;
  ASSERT_EQ(p.rows.size(), 2u);
  EXPECT_EQ(p.rows.key[1], 3);
  EXPECT_EQ(p.rows.line[1], 4u);
  ASSERT_EQ(p.rejects.size(), 1u);
  EXPECT_EQ(p.rejects[0].line, 3u);
  EXPECT_EQ(p.rejects[0].reason, "line 3 has more than 1048576 fields");
  EXPECT_EQ(p.rejects[0].raw.size(), 65536u);
  // In the header it fails the file.
  auto h = Parse("customer_id" + commas + "\n1\n");
  EXPECT_TRUE(h.failed);
  EXPECT_EQ(h.error, "cannot read the header: line 1 has more than 1048576 fields");
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
