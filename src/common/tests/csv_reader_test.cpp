#include "common/csv_reader.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace dimstream {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A record copied out of the reader, because its views die on the next call.
struct Row {
  CsvStatus status = CsvStatus::kEnd;
  uint64_t line = 0;
  std::vector<std::string> fields;
  std::vector<bool> quoted;
  std::string raw;
  std::string error;
};

// Every record and error up to kEnd, through one CsvRecord reused as the loader does.
std::vector<Row> ReadAll(std::string_view data, char delimiter = ',') {
  CsvReader reader(data, delimiter);
  CsvRecord record;
  std::vector<Row> rows;
  for (;;) {
    std::string error;
    const CsvStatus status = reader.Next(record, &error);
    if (status == CsvStatus::kEnd) {
      break;
    }
    Row row;
    row.status = status;
    row.line = record.line;
    row.fields.assign(record.fields.begin(), record.fields.end());
    row.quoted = record.quoted;
    row.raw = record.raw;
    row.error = error;
    rows.push_back(std::move(row));
    if (rows.size() > data.size() + 1) {
      ADD_FAILURE() << "reader does not advance";
      break;
    }
  }
  return rows;
}

std::vector<std::vector<std::string>> Fields(const std::vector<Row>& rows) {
  std::vector<std::vector<std::string>> out;
  for (const Row& row : rows) {
    out.push_back(row.fields);
  }
  return out;
}

std::vector<uint64_t> Lines(const std::vector<Row>& rows) {
  std::vector<uint64_t> out;
  for (const Row& row : rows) {
    out.push_back(row.line);
  }
  return out;
}

using Strings = std::vector<std::string>;

TEST(CsvReaderTest, QuotedFieldsHoldDelimitersQuotesAndNewlines) {
  auto rows = ReadAll("id,text\n1,\"a,b\"\n2,\"say \"\"hi\"\"\"\n3,\"two\nlines\"\n4,\"crlf\r\ninside\"\n");
  ASSERT_EQ(rows.size(), 5u);
  for (const Row& row : rows) {
    EXPECT_EQ(row.status, CsvStatus::kRecord) << row.error;
  }
  EXPECT_EQ(rows[1].fields, (Strings{"1", "a,b"}));
  EXPECT_EQ(rows[2].fields, (Strings{"2", "say \"hi\""}));
  EXPECT_EQ(rows[3].fields, (Strings{"3", "two\nlines"}));
  EXPECT_EQ(rows[4].fields, (Strings{"4", "crlf\r\ninside"}));
  EXPECT_THAT(rows[1].quoted, ElementsAre(false, true));
}

TEST(CsvReaderTest, QuoteInsideUnquotedFieldIsLiteral) {
  auto rows = ReadAll("a\"b,5\" tall,x\"\"y\n");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, CsvStatus::kRecord);
  EXPECT_EQ(rows[0].fields, (Strings{"a\"b", "5\" tall", "x\"\"y"}));
  EXPECT_THAT(rows[0].quoted, ElementsAre(false, false, false));
}

TEST(CsvReaderTest, LfCrlfAndMixedTerminators) {
  const std::vector<std::vector<std::string>> expected = {{"a", "b"}, {"1", "2"}, {"3", ""}};
  EXPECT_EQ(Fields(ReadAll("a,b\n1,2\n3,\n")), expected);
  EXPECT_EQ(Fields(ReadAll("a,b\r\n1,2\r\n3,\r\n")), expected);
  EXPECT_EQ(Fields(ReadAll("a,b\r\n1,2\n3,\r\n")), expected);
  EXPECT_EQ(Fields(ReadAll("\"a\",\"b\"\r\n\"1\",\"2\"\n\"3\",\"\"\r\n")), expected);
  EXPECT_EQ(Lines(ReadAll("a,b\r\n1,2\n3,\r\n")), (std::vector<uint64_t>{1, 2, 3}));
}

TEST(CsvReaderTest, SkipsBomOnlyAtStart) {
  auto rows = ReadAll("\xEF\xBB\xBFid,name\n1,\xEF\xBB\xBFx\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].fields, (Strings{"id", "name"}));
  EXPECT_EQ(rows[0].raw, "id,name");
  EXPECT_EQ(rows[0].line, 1u);
  EXPECT_EQ(rows[1].fields, (Strings{"1", "\xEF\xBB\xBFx"}));
  EXPECT_THAT(ReadAll("\xEF\xBB\xBF"), IsEmpty());
}

TEST(CsvReaderTest, ReportsVaryingFieldCountsAsIs) {
  auto rows = ReadAll("a,b,c\n1\n1,2,3,4\n,\n");
  EXPECT_EQ(Fields(rows), (std::vector<Strings>{{"a", "b", "c"}, {"1"}, {"1", "2", "3", "4"}, {"", ""}}));
  for (const Row& row : rows) {
    EXPECT_EQ(row.status, CsvStatus::kRecord);
    EXPECT_EQ(row.quoted.size(), row.fields.size());
  }
}

TEST(CsvReaderTest, EmptyFieldDiffersFromQuotedEmpty) {
  auto rows = ReadAll("a,,\"\",b,\n\"\"\n,\"\"\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].fields, (Strings{"a", "", "", "b", ""}));
  EXPECT_THAT(rows[0].quoted, ElementsAre(false, false, true, false, false));
  // A line holding only "" is a record with one quoted empty field, not an empty line.
  EXPECT_EQ(rows[1].fields, (Strings{""}));
  EXPECT_THAT(rows[1].quoted, ElementsAre(true));
  EXPECT_EQ(rows[2].fields, (Strings{"", ""}));
  EXPECT_THAT(rows[2].quoted, ElementsAre(false, true));
}

TEST(CsvReaderTest, UnterminatedQuoteEndsTheInput) {
  auto rows = ReadAll("a,b\n1,2\n3,\"open\n4,5\n6,7\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].fields, (Strings{"1", "2"}));
  EXPECT_EQ(rows[2].status, CsvStatus::kError);
  EXPECT_EQ(rows[2].line, 3u);
  EXPECT_EQ(rows[2].error, "unterminated quoted field starting on line 3");
  EXPECT_EQ(rows[2].raw, "3,\"open\n4,5\n6,7");
  EXPECT_THAT(rows[2].fields, IsEmpty());
}

TEST(CsvReaderTest, UnterminatedQuoteNamesTheLineWhereItOpens) {
  auto rows = ReadAll("1,\"a\nb\",\"c\nd\n");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, CsvStatus::kError);
  EXPECT_EQ(rows[0].line, 1u);
  EXPECT_EQ(rows[0].error, "unterminated quoted field starting on line 2");
}

TEST(CsvReaderTest, GarbageAfterClosingQuoteRejectsOnlyThatRecord) {
  auto rows = ReadAll("a,b,c\n1,2,\"x\"y,z\n3,4,5\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].status, CsvStatus::kError);
  EXPECT_EQ(rows[1].line, 2u);
  EXPECT_EQ(rows[1].raw, "1,2,\"x\"y,z");
  EXPECT_EQ(rows[1].error, "unexpected character 'y' after closing quote in field 3");
  EXPECT_THAT(rows[1].fields, IsEmpty());
  EXPECT_EQ(rows[2].status, CsvStatus::kRecord);
  EXPECT_EQ(rows[2].line, 3u);
  EXPECT_EQ(rows[2].fields, (Strings{"3", "4", "5"}));
}

TEST(CsvReaderTest, GarbageAfterMultiLineQuotedField) {
  auto rows = ReadAll("\"a\r\nb\" \r\n1,2\r\n\"ok\"\x01\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].status, CsvStatus::kError);
  EXPECT_EQ(rows[0].line, 1u);
  EXPECT_EQ(rows[0].raw, "\"a\r\nb\" ");
  EXPECT_EQ(rows[0].error, "unexpected character ' ' after closing quote in field 1");
  EXPECT_EQ(rows[1].status, CsvStatus::kRecord);
  EXPECT_EQ(rows[1].line, 3u);
  EXPECT_EQ(rows[1].fields, (Strings{"1", "2"}));
  EXPECT_EQ(rows[2].status, CsvStatus::kError);
  EXPECT_EQ(rows[2].line, 4u);
  EXPECT_EQ(rows[2].error, "unexpected byte 0x01 after closing quote in field 1");
}

TEST(CsvReaderTest, FieldsOfSeveralMegabytes) {
  const std::string big(5 << 20, 'x');
  std::string escaped;
  std::string unescaped;
  for (int i = 0; i < (1 << 20); ++i) {
    escaped += "ab\"\"\n";
    unescaped += "ab\"\n";
  }
  const std::string input =
      "1," + big + "\n2,\"" + big + "\"\n3,\"" + escaped + "\",\"" + escaped + "\"\n4,end\n";
  auto rows = ReadAll(input);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].fields[1].size(), big.size());
  EXPECT_EQ(rows[0].fields[1], big);
  EXPECT_EQ(rows[1].fields[1], big);
  ASSERT_EQ(rows[2].fields.size(), 3u);
  EXPECT_EQ(rows[2].fields[1], unescaped);
  EXPECT_EQ(rows[2].fields[2], unescaped);
  EXPECT_EQ(rows[3].line, 4u + 2 * (1u << 20));
  EXPECT_EQ(rows[3].fields, (Strings{"4", "end"}));
}

TEST(CsvReaderTest, RecordWithOneMillionFields) {
  std::string input;
  for (int i = 0; i < 1000000; ++i) {
    input += i % 2 == 0 ? "12345678," : "\"a\"\"b\",";
  }
  input += "last\nnext\n";
  auto rows = ReadAll(input);
  ASSERT_EQ(rows.size(), 2u);
  ASSERT_EQ(rows[0].fields.size(), 1000001u);
  EXPECT_EQ(rows[0].fields[0], "12345678");
  EXPECT_EQ(rows[0].fields[1], "a\"b");
  EXPECT_EQ(rows[0].fields[999999], "a\"b");
  EXPECT_EQ(rows[0].fields[1000000], "last");
  EXPECT_EQ(rows[1].fields, (Strings{"next"}));
}

TEST(CsvReaderTest, LoneCrIsData) {
  auto rows = ReadAll("a\rb,\"c\rd\"\r\ne,f\r");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].fields, (Strings{"a\rb", "c\rd"}));
  EXPECT_EQ(rows[0].raw, "a\rb,\"c\rd\"");
  EXPECT_EQ(rows[1].fields, (Strings{"e", "f\r"}));
  EXPECT_EQ(rows[1].line, 2u);
}

TEST(CsvReaderTest, LineNumbersAfterMultiLineQuotedField) {
  auto rows = ReadAll("h\n\"a\nb\nc\"\nx\n\"d\r\ne\",\"f\n\"\"g\"\"\"\ny\n\n\nz\n");
  EXPECT_EQ(Fields(rows),
            (std::vector<Strings>{{"h"}, {"a\nb\nc"}, {"x"}, {"d\r\ne", "f\n\"g\""}, {"y"}, {"z"}}));
  EXPECT_EQ(Lines(rows), (std::vector<uint64_t>{1, 2, 5, 6, 9, 12}));
}

TEST(CsvReaderTest, SkipsEmptyLines) {
  auto rows = ReadAll("\n\r\na\n\n\r\n\nb\n\n");
  EXPECT_EQ(Fields(rows), (std::vector<Strings>{{"a"}, {"b"}}));
  EXPECT_EQ(Lines(rows), (std::vector<uint64_t>{3, 7}));
  EXPECT_THAT(ReadAll(""), IsEmpty());
  EXPECT_THAT(ReadAll("\n\r\n\n"), IsEmpty());
}

TEST(CsvReaderTest, FinalTerminatorIsOptional) {
  EXPECT_EQ(Fields(ReadAll("a,b\n1,2")), (std::vector<Strings>{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(Fields(ReadAll("a,b\n1,2\n")), (std::vector<Strings>{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(Fields(ReadAll("a,b\r\n1,\"2\"")), (std::vector<Strings>{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(Fields(ReadAll("a,b\n1,")), (std::vector<Strings>{{"a", "b"}, {"1", ""}}));
  EXPECT_EQ(ReadAll("a,b\n1,2").back().raw, "1,2");
}

TEST(CsvReaderTest, SemicolonDelimiter) {
  auto rows = ReadAll("a;b;c\n1,5;\"x;y\";\n", ';');
  EXPECT_EQ(Fields(rows), (std::vector<Strings>{{"a", "b", "c"}, {"1,5", "x;y", ""}}));
  EXPECT_THAT(rows[1].quoted, ElementsAre(false, true, false));
}

TEST(CsvReaderTest, RawIsTheInputBytes) {
  const std::string input =
      "id,note\r\n1,\"a \"\"b\"\"\"\r\n2,\"multi\r\nline\",x\n\n3,plain\r\n\"4\"\"\",\"\"\r";
  auto rows = ReadAll(input);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0].raw, "id,note");
  EXPECT_EQ(rows[1].raw, "1,\"a \"\"b\"\"\"");
  EXPECT_EQ(rows[2].raw, "2,\"multi\r\nline\",x");
  EXPECT_EQ(rows[3].raw, "3,plain");
  EXPECT_EQ(rows[4].status, CsvStatus::kError);  // \r after the closing quote is not a terminator
  EXPECT_EQ(rows[4].raw, "\"4\"\"\",\"\"\r");
  EXPECT_EQ(rows[4].line, 7u);
}

TEST(CsvReaderTest, FieldsViewTheInputUnlessUnescaped) {
  const std::string input = "plain,\"quoted\",\"es\"\"caped\",\"two\"\"x\"\n";
  CsvReader reader(input);
  CsvRecord record;
  ASSERT_EQ(reader.Next(record, nullptr), CsvStatus::kRecord);
  ASSERT_EQ(record.fields.size(), 4u);
  const auto in_input = [&](std::string_view field) {
    return field.data() >= input.data() && field.data() + field.size() <= input.data() + input.size();
  };
  EXPECT_TRUE(in_input(record.fields[0]));
  EXPECT_TRUE(in_input(record.fields[1]));
  EXPECT_FALSE(in_input(record.fields[2]));
  EXPECT_EQ(record.fields[2], "es\"caped");
  EXPECT_EQ(record.fields[3], "two\"x");
  EXPECT_TRUE(in_input(record.raw));
  EXPECT_EQ(reader.Next(record, nullptr), CsvStatus::kEnd);
  EXPECT_EQ(reader.Next(record, nullptr), CsvStatus::kEnd);
}

}  // namespace
}  // namespace dimstream
