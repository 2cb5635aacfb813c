#include "loader/json_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/testing/failing_stream.h"
#include "loader/record_parser.h"

namespace dimstream {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<std::string> kColumns = {"customer_id", "first_name", "email", "op"};
const std::vector<std::string> kOptional = {"updated_at"};

// A record copied out of the source's views.
struct Rec {
  SourceStatus status;
  uint64_t line = 0;
  std::string raw;
  std::vector<std::string> fields;  // "<NULL>" for a null field
  std::string why;
};

struct ReadResult {
  Status header_status;
  std::vector<std::string> header;
  std::vector<Rec> records;  // up to kEnd or kFailed, which is the last one
  Error failure = Error::Invalid("");
  uint64_t extra_columns = 0;
};

ReadResult ReadAll(std::string_view input, size_t max_read = SIZE_MAX, uint64_t max_line = 1 << 20,
                   const std::vector<std::string>& optional = kOptional) {
  JsonLinesSource source(std::make_unique<MemoryStream>(input, max_read), kColumns, optional, max_line);
  ReadResult out;
  out.header_status = source.ReadHeader(out.header);
  if (!out.header_status.ok()) {
    return out;
  }
  SourceRecord r;
  std::string why;
  while (true) {
    why.clear();
    SourceStatus st = source.Next(r, why);
    if (st == SourceStatus::kEnd) {
      break;
    }
    Rec rec{st, r.line, std::string(r.raw), {}, why};
    if (st == SourceStatus::kRecord) {
      EXPECT_EQ(r.fields.size(), out.header.size());
      for (const SourceField& f : r.fields) {
        EXPECT_TRUE(!f.null || f.text.empty());
        rec.fields.push_back(f.null ? "<NULL>" : std::string(f.text));
      }
    }
    out.records.push_back(std::move(rec));
    if (st == SourceStatus::kFailed) {
      out.failure = source.failure();
      break;
    }
    source.Release();
  }
  out.extra_columns = source.extra_columns();
  return out;
}

// The single record of a one-line input.
Rec One(std::string_view line) {
  ReadResult r = ReadAll(line);
  EXPECT_TRUE(r.header_status.ok()) << r.header_status.error().message;
  EXPECT_EQ(r.records.size(), 1u);
  return r.records.empty() ? Rec{SourceStatus::kEnd} : r.records[0];
}

TEST(JsonLinesSourceTest, ValuesAsText) {
  Rec r = One(R"({"customer_id": 12, "first_name": "Ann", "email": true, "op": false})");
  ASSERT_EQ(r.status, SourceStatus::kRecord) << r.why;
  EXPECT_THAT(r.fields, ElementsAre("12", "Ann", "true", "false"));
  EXPECT_EQ(r.line, 1u);

  // Numbers exactly as written, even those no double or 64-bit integer holds.
  r = One(R"({"customer_id":123456789012345678901234567890,"first_name":1e400,"email":-0.50E+03 ,"op":0})");
  ASSERT_EQ(r.status, SourceStatus::kRecord) << r.why;
  EXPECT_THAT(r.fields, ElementsAre("123456789012345678901234567890", "1e400", "-0.50E+03", "0"));

  // Escapes unescaped; an empty string is a value, not NULL.
  r = One(R"({"customer_id": "a\"b\\c\n\u00e9\ud83d\ude00", "first_name": ""})");
  ASSERT_EQ(r.status, SourceStatus::kRecord) << r.why;
  EXPECT_THAT(r.fields, ElementsAre("a\"b\\c\n\xC3\xA9\xF0\x9F\x98\x80", "", "<NULL>", "<NULL>"));
}

TEST(JsonLinesSourceTest, NullAndMissingKeysAreNull) {
  Rec r = One(R"({"first_name": null, "op": "D"})");
  ASSERT_EQ(r.status, SourceStatus::kRecord) << r.why;
  EXPECT_THAT(r.fields, ElementsAre("<NULL>", "<NULL>", "<NULL>", "D"));
  r = One("{}");
  ASSERT_EQ(r.status, SourceStatus::kRecord) << r.why;
  EXPECT_THAT(r.fields, ElementsAre("<NULL>", "<NULL>", "<NULL>", "<NULL>"));
}

TEST(JsonLinesSourceTest, NestedValuesAreTheirJsonText) {
  Rec r = One(R"({"first_name": {"a": [1, 2.5, {"b": null}], "c": "x\"y"} , "email":[ ],"op":{}})");
  ASSERT_EQ(r.status, SourceStatus::kRecord) << r.why;
  EXPECT_THAT(r.fields, ElementsAre("<NULL>", R"({"a": [1, 2.5, {"b": null}], "c": "x\"y"})", "[ ]", "{}"));

  // Inside a nested value, everything is checked too.
  for (std::string_view bad : {R"({"first_name": [1, 2,]})", R"({"first_name": {"a" 1}})",
                               R"({"first_name": [01]})", R"({"first_name": [tru]})", R"({"zz": [1 2]})",
                               R"({"zz": {"a": "\q"}})", R"({"zz": [nul]})", R"({"zz": [1.]})"}) {
    r = One(bad);
    EXPECT_EQ(r.status, SourceStatus::kBad) << bad;
    EXPECT_THAT(r.why, HasSubstr("line 1 is not a JSON object: ")) << bad;
  }
}

TEST(JsonLinesSourceTest, KeysAreMatchedIgnoringCase) {
  ReadResult r = ReadAll("{\"Customer_ID\": 1, \"FIRST_NAME\": \"x\", \"Updated_At\": \"2024-01-01\"}\n");
  EXPECT_THAT(r.header, ElementsAre("customer_id", "first_name", "email", "op", "updated_at"));
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_THAT(r.records[0].fields, ElementsAre("1", "x", "<NULL>", "<NULL>", "2024-01-01"));
}

TEST(JsonLinesSourceTest, ARepeatedKeyIsBad) {
  ReadResult r = ReadAll(
      "{\"customer_id\": 1, \"CUSTOMER_ID\": 2}\n"
      "{\"zz\": 1, \"Zz\": 2}\n"
      "{\"zz\": 1, \"customer_id\": 3}\n");
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[0].status, SourceStatus::kBad);
  EXPECT_EQ(r.records[0].why, "line 1 has the key \"CUSTOMER_ID\" twice (keys are compared ignoring case)");
  EXPECT_EQ(r.records[1].status, SourceStatus::kBad);
  EXPECT_THAT(r.records[1].why, HasSubstr("\"Zz\" twice"));
  // The same key on another line is no repeat.
  EXPECT_EQ(r.records[2].status, SourceStatus::kRecord) << r.records[2].why;
}

TEST(JsonLinesSourceTest, InvalidUtf8IsBadAndReadingGoesOn) {
  ReadResult r = ReadAll(
      "{\"first_name\": \"\xC3\x28\"}\n"
      "{\"zz\": \"\xED\xA0\x80\"}\n"     // a surrogate in UTF-8
      "{\"first_name\": \"\\ud800\"}\n"  // a lone surrogate, escaped
      "{\"customer_id\": 4}\n");
  ASSERT_EQ(r.records.size(), 4u);
  EXPECT_EQ(r.records[0].status, SourceStatus::kBad);
  EXPECT_EQ(r.records[0].why, "line 1 is not valid UTF-8");
  EXPECT_EQ(r.records[0].raw, "{\"first_name\": \"\xC3\x28\"}");
  EXPECT_EQ(r.records[1].why, "line 2 is not valid UTF-8");
  EXPECT_EQ(r.records[2].status, SourceStatus::kBad);
  EXPECT_THAT(r.records[2].why, HasSubstr("line 3 is not a JSON object"));
  EXPECT_EQ(r.records[3].status, SourceStatus::kRecord);
  EXPECT_THAT(r.records[3].fields, ElementsAre("4", "<NULL>", "<NULL>", "<NULL>"));
}

TEST(JsonLinesSourceTest, LinesThatAreNotOneObjectAreBad) {
  ReadResult r = ReadAll(
      "{\"customer_id\": 1}\n"
      "[1, 2]\n"
      "\"x\"\n"
      "42\n"
      "null\n"
      "{\"customer_id\": }\n"
      "{\"customer_id\" 1}\n"
      "{\"customer_id\": 1,}\n"
      "{\"customer_id\": 12abc}\n"
      "{\"customer_id\": 1\n"
      "{\"customer_id\": \"abc\n"
      "{\"customer_id\": 1} x\n"
      "{\"customer_id\": 1}{}\n"
      "{\"customer_id\": 1}}\n"
      "{'customer_id': 1}\n"
      "{\"customer_id\": 2}\n");
  ASSERT_EQ(r.records.size(), 16u);
  EXPECT_EQ(r.records[0].status, SourceStatus::kRecord);
  EXPECT_EQ(r.records[1].why, "line 2 is not a JSON object: it is an array");
  EXPECT_EQ(r.records[2].why, "line 3 is not a JSON object: it is a string");
  EXPECT_EQ(r.records[3].why, "line 4 is not a JSON object: it is a number");
  EXPECT_EQ(r.records[4].why, "line 5 is not a JSON object: it is null");
  EXPECT_EQ(r.records[8].why,
            "line 9 is not a JSON object: Problem while parsing a number (in the value of \"customer_id\")");
  for (size_t i = 1; i < 15; ++i) {
    EXPECT_EQ(r.records[i].status, SourceStatus::kBad) << r.records[i].raw;
    EXPECT_EQ(r.records[i].line, i + 1);
    EXPECT_THAT(r.records[i].why, HasSubstr(fmt::format("line {} ", i + 1))) << r.records[i].raw;
  }
  EXPECT_EQ(r.records[9].why, "line 10 is not a JSON object: it does not end with '}'");
  EXPECT_EQ(r.records[11].why, "line 12 is not a JSON object: it does not end with '}'");
  for (size_t i = 12; i < 14; ++i) {
    EXPECT_EQ(r.records[i].why, fmt::format("line {} has more after its object: a JSON lines file holds one "
                                            "object per line",
                                            i + 1));
  }
  EXPECT_EQ(r.records[15].status, SourceStatus::kRecord);
  EXPECT_THAT(r.records[15].fields, ElementsAre("2", "<NULL>", "<NULL>", "<NULL>"));
}

TEST(JsonLinesSourceTest, DeepNestingIsBad) {
  std::string deep = "{\"first_name\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  Rec r = One(deep);
  EXPECT_EQ(r.status, SourceStatus::kBad);
  EXPECT_EQ(r.why, "line 1 is nested deeper than 1024 levels");
  // Of a key of no column too.
  r = One("{\"zz\": " + std::string(100000, '[') + "}");
  EXPECT_EQ(r.status, SourceStatus::kBad);
  // 1024 levels, the object itself counted, are fine.
  std::string ok = "{\"first_name\": " + std::string(1023, '[') + std::string(1023, ']') + "}";
  r = One(ok);
  ASSERT_EQ(r.status, SourceStatus::kRecord) << r.why;
  EXPECT_EQ(r.fields[1], std::string(1023, '[') + std::string(1023, ']'));
  r = One("{\"first_name\": " + std::string(1024, '[') + std::string(1024, ']') + "}");
  EXPECT_EQ(r.status, SourceStatus::kBad);
  // A line of 100000 '[' is an array.
  r = One(std::string(100000, '['));
  EXPECT_EQ(r.status, SourceStatus::kBad);
}

TEST(JsonLinesSourceTest, CrLfBlankLinesAndPhysicalLineNumbers) {
  ReadResult r = ReadAll(
      "\r\n"
      "  \t\r\n"
      "{\"customer_id\": 1,\r\"first_name\": \"a\"}\r\n"
      "\n"
      "{\"customer_id\": 2}\r\n"
      "   \n"
      "{\"customer_id\": 3}");  // no final newline
  ASSERT_TRUE(r.header_status.ok()) << r.header_status.error().message;
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[0].line, 3u);
  EXPECT_EQ(r.records[0].raw, "{\"customer_id\": 1,\r\"first_name\": \"a\"}");
  EXPECT_THAT(r.records[0].fields, ElementsAre("1", "a", "<NULL>", "<NULL>"));
  EXPECT_EQ(r.records[1].line, 5u);
  EXPECT_EQ(r.records[1].raw, "{\"customer_id\": 2}");
  EXPECT_EQ(r.records[2].line, 7u);
  EXPECT_EQ(r.records[2].raw, "{\"customer_id\": 3}");
}

TEST(JsonLinesSourceTest, AByteOrderMarkIsSkipped) {
  ReadResult r = ReadAll("\xEF\xBB\xBF{\"customer_id\": 1}\n");
  ASSERT_TRUE(r.header_status.ok()) << r.header_status.error().message;
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].status, SourceStatus::kRecord) << r.records[0].why;
}

TEST(JsonLinesSourceTest, AnEmptyFileHasTheColumnsAndNoRecords) {
  for (std::string_view input : {"", "\n", " \r\n\t\n"}) {
    ReadResult r = ReadAll(input);
    ASSERT_TRUE(r.header_status.ok());
    EXPECT_EQ(r.header, kColumns);
    EXPECT_TRUE(r.records.empty());
  }
}

TEST(JsonLinesSourceTest, AFirstLineThatIsNotJsonRejectsTheFile) {
  ReadResult r = ReadAll("customer_id,first_name\n1,Ann\n");
  ASSERT_FALSE(r.header_status.ok());
  EXPECT_EQ(r.header_status.error().kind, ErrorKind::kInvalidInput);
  EXPECT_EQ(
      r.header_status.error().message,
      "the first line is not JSON (line 1 starts with 'c', not '{'): is this file CSV? A JSON lines file "
      "holds one object per line");
  r = ReadAll("\n\x1F\x8B\x08");  // gzip data under a .json name
  ASSERT_FALSE(r.header_status.ok());
  EXPECT_THAT(r.header_status.error().message, HasSubstr("line 2 starts with byte 0x1F"));
  // A first line that is JSON, but not an object, is one bad line.
  r = ReadAll("[1]\n{\"customer_id\": 1}\n");
  ASSERT_TRUE(r.header_status.ok());
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].status, SourceStatus::kBad);
  EXPECT_EQ(r.records[1].status, SourceStatus::kRecord);
}

TEST(JsonLinesSourceTest, TinyReadsGiveTheSameRecords) {
  std::string input =
      "{\"customer_id\": 1, \"first_name\": \"a\\u00e9b\", \"email\": {\"x\": [1, 2]}}\r\n"
      "\n"
      "[]\n"
      "{\"customer_id\": 2, \"zz\": \"" +
      std::string(300, 'x') + "\"}\n{\"customer_id\": 3}";
  ReadResult whole = ReadAll(input);
  ASSERT_EQ(whole.records.size(), 4u);
  for (size_t max_read : {1, 2, 3, 7, 64}) {
    ReadResult split = ReadAll(input, max_read);
    ASSERT_EQ(split.records.size(), whole.records.size()) << max_read;
    for (size_t i = 0; i < whole.records.size(); ++i) {
      EXPECT_EQ(split.records[i].status, whole.records[i].status);
      EXPECT_EQ(split.records[i].line, whole.records[i].line);
      EXPECT_EQ(split.records[i].raw, whole.records[i].raw);
      EXPECT_EQ(split.records[i].fields, whole.records[i].fields);
      EXPECT_EQ(split.records[i].why, whole.records[i].why);
    }
  }
}

TEST(JsonLinesSourceTest, ALineLongerThanTheLimitFailsTheFile) {
  std::string fits = "{\"op\": \"" + std::string(8, 'x') + "\"}";  // 18 bytes
  ASSERT_EQ(fits.size(), 18u);
  for (size_t max_read : {size_t{1}, SIZE_MAX}) {
    // At the limit, with CRLF or not, it reads; one byte more fails.
    ReadResult r = ReadAll(fits + "\r\n" + fits + "\n" + fits, max_read, 18);
    ASSERT_EQ(r.records.size(), 3u);
    for (const Rec& rec : r.records) {
      EXPECT_EQ(rec.status, SourceStatus::kRecord) << rec.why;
    }
    r = ReadAll(fits + "\n" + fits + " \n" + fits, max_read, 18);
    ASSERT_EQ(r.records.size(), 2u);
    EXPECT_EQ(r.records[1].status, SourceStatus::kFailed);
    EXPECT_EQ(r.failure.kind, ErrorKind::kInvalidInput);
    EXPECT_EQ(r.failure.message,
              "line 2 is longer than 18 bytes: is this a JSON lines file (one object per line)?");
    // With no newline at all, the file fails before it is all read.
    r = ReadAll(fits + std::string(100000, ' '), max_read, 18);
    ASSERT_FALSE(r.header_status.ok());
    EXPECT_EQ(r.header_status.error().message,
              "line 1 is longer than 18 bytes: is this a JSON lines file (one object per line)?");
  }
}

TEST(JsonLinesSourceTest, NoLimitIsNoLimit) {
  ReadResult r =
      ReadAll("{\"customer_id\": 1}\n{\"op\": \"" + std::string(3 << 20, 'x') + "\"}\n", 1000, UINT64_MAX);
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[1].status, SourceStatus::kRecord);
  EXPECT_EQ(r.records[1].fields[3].size(), size_t{3} << 20);
}

TEST(JsonLinesSourceTest, OptionalColumnsComeFromTheFirstLine) {
  // The first line has updated_at: it is in the header, NULL where a line lacks it.
  ReadResult r = ReadAll(
      "{\"customer_id\": 1, \"updated_at\": \"2024-01-01\"}\n"
      "{\"customer_id\": 2}\n");
  EXPECT_THAT(r.header, ElementsAre("customer_id", "first_name", "email", "op", "updated_at"));
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_THAT(r.records[1].fields, ElementsAre("2", "<NULL>", "<NULL>", "<NULL>", "<NULL>"));

  // A null updated_at on the first line still puts it in the header (the parser then says it is empty).
  r = ReadAll("{\"customer_id\": 1, \"updated_at\": null}\n");
  EXPECT_EQ(r.header.size(), 5u);

  // The first line lacks it: every later line must leave it out (or null).
  r = ReadAll(
      "{\"customer_id\": 1}\n"
      "{\"customer_id\": 2, \"updated_at\": null}\n"
      "{\"customer_id\": 3, \"Updated_At\": \"2024-01-01\"}\n");
  EXPECT_EQ(r.header, kColumns);
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[1].status, SourceStatus::kRecord);
  EXPECT_EQ(r.records[2].status, SourceStatus::kBad);
  EXPECT_EQ(r.records[2].why,
            "line 3 has updated_at, which the file's first line has not: the file takes its load time as "
            "sequence, so every line must leave updated_at out");
}

TEST(JsonLinesSourceTest, KeysOfNoColumnAreCountedOnce) {
  ReadResult r = ReadAll(
      "{\"customer_id\": 1, \"zz\": {\"deep\": 1}, \"Extra\": 2}\n"
      "{\"customer_id\": 2, \"ZZ\": 3, \"other\": [], \"\": 0}\n");
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].status, SourceStatus::kRecord);
  EXPECT_EQ(r.records[1].status, SourceStatus::kRecord);
  EXPECT_EQ(r.extra_columns, 4u);  // zz, extra, other and ""; "deep" is inside a value
  // An optional column of the entity is no extra column.
  r = ReadAll("{\"customer_id\": 1}\n{\"updated_at\": null}\n");
  EXPECT_EQ(r.extra_columns, 0u);
}

TEST(JsonLinesSourceTest, ViewsStayValidUntilRelease) {
  // Many 4 KiB blocks (the block size for a 100-byte limit), records split across them and across reads,
  // unescaped strings in the arena: read a batch, check all its views, Release, repeat.
  std::string input;
  std::vector<std::string> names;
  for (int i = 0; i < 2000; ++i) {
    names.push_back(fmt::format("n{}{}", i, std::string(static_cast<size_t>(i % 37), 'y')));
    bool escaped = i % 3 == 0;
    input += fmt::format("{{\"customer_id\": {}, \"first_name\": \"{}{}\", \"email\": [{}]}}\n", i,
                         names.back(), escaped ? "\\t" : "", i);
    if (escaped) {
      names.back() += "\t";
    }
    if (i % 5 == 0) {
      input += "\n";
    }
  }
  JsonLinesSource source(std::make_unique<MemoryStream>(input, 1000), kColumns, kOptional, 100);
  std::vector<std::string> header;
  ASSERT_TRUE(source.ReadHeader(header).ok());
  size_t next = 0;
  for (size_t batch : {1, 7, 100, 500, 1392}) {
    std::vector<SourceRecord> records(batch);
    std::string why;
    for (SourceRecord& r : records) {
      ASSERT_EQ(source.Next(r, why), SourceStatus::kRecord) << why;
    }
    for (size_t k = 0; k < batch; ++k, ++next) {
      const SourceRecord& r = records[k];
      EXPECT_EQ(r.fields[0].text, std::to_string(next));
      EXPECT_EQ(r.fields[1].text, names[next]);
      EXPECT_EQ(r.fields[2].text, fmt::format("[{}]", next));
      EXPECT_TRUE(r.fields[3].null);
      EXPECT_TRUE(source.Stable(r.raw));
      for (size_t f = 0; f < 3; ++f) {
        EXPECT_TRUE(source.Stable(r.fields[f].text)) << next << " " << f;
      }
    }
    source.Release();
  }
  SourceRecord r;
  std::string why;
  EXPECT_EQ(source.Next(r, why), SourceStatus::kEnd);
  EXPECT_EQ(source.Next(r, why), SourceStatus::kEnd);
  EXPECT_FALSE(source.Stable(std::string_view(why.data(), 1)));
}

TEST(JsonLinesSourceTest, StreamErrorsPassThrough) {
  JsonLinesSource source(std::make_unique<test_support::FailingStream>("{\"customer_id\": 1}\n{\"custo",
                                                                       Error::Retryable("connection reset")),
                         kColumns, kOptional, 1000);
  std::vector<std::string> header;
  ASSERT_TRUE(source.ReadHeader(header).ok());
  SourceRecord r;
  std::string why;
  EXPECT_EQ(source.Next(r, why), SourceStatus::kRecord);
  EXPECT_EQ(source.Next(r, why), SourceStatus::kFailed);
  EXPECT_EQ(source.failure().kind, ErrorKind::kRetryable);
  EXPECT_EQ(source.failure().message, "connection reset");
  EXPECT_EQ(source.Next(r, why), SourceStatus::kFailed);

  JsonLinesSource at_start(
      std::make_unique<test_support::FailingStream>("", Error::Invalid("corrupt gzip data")), kColumns,
      kOptional, 1000);
  Status st = at_start.ReadHeader(header);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().kind, ErrorKind::kInvalidInput);
  EXPECT_EQ(st.error().message, "corrupt gzip data");
}

// Through the record parser, with the built-in customer entity. The rows view the source's memory, so
// the source lives as long as they do.
struct Parsed {
  std::unique_ptr<JsonLinesSource> source;
  ParsedObject out;
};

std::unique_ptr<Parsed> ParseJson(std::string_view input) {
  EntitySpec entity;
  std::vector<std::string> columns;
  for (const std::string& c : entity.input_columns()) {
    if (std::find(entity.sequence_columns.begin(), entity.sequence_columns.end(), c) ==
        entity.sequence_columns.end()) {
      columns.push_back(c);
    }
  }
  auto p = std::make_unique<Parsed>();
  p->source = std::make_unique<JsonLinesSource>(std::make_unique<MemoryStream>(input), columns,
                                                entity.sequence_columns, 1 << 20);
  EXPECT_TRUE(ParseRecords(*p->source, entity, ParseOptions{}, p->out).ok());
  return p;
}

TEST(JsonLinesSourceTest, RecordParserTypesTheFields) {
  auto parsed = ParseJson(
      "{\"customer_id\": 1, \"first_name\": \"Ann\", \"last_name\": \"O\\\"Neil\", \"email\": null, "
      "\"City\": \"Lima\", \"updated_at\": \"2024-01-01T00:00:00Z\", \"op\": \"I\", \"score\": 3}\n"
      "{\"customer_id\": \"x\", \"updated_at\": \"2024-01-02T00:00:00Z\"}\n"
      "{\"customer_id\": 2, \"updated_at\": \"2024-01-02T00:00:00+01:00\", \"op\": \"d\"}\n"
      "{\"customer_id\": 3}\n"
      "[\"not\", \"an\", \"object\"]\n"
      "{\"customer_id\": 1e400, \"updated_at\": \"2024-01-01T00:00:00Z\"}\n");
  const ParsedObject& p = parsed->out;
  ASSERT_FALSE(p.failed) << p.error;
  ASSERT_EQ(p.rows.size(), 2u);
  EXPECT_TRUE(p.rows.has_sequence);
  const TypedColumn& key = p.rows.columns[0];
  EXPECT_EQ(key.ints[0], 1);
  EXPECT_EQ(key.ints[1], 2);
  EXPECT_EQ(p.rows.columns[1].texts[0], "Ann");
  EXPECT_EQ(p.rows.columns[2].texts[0], "O\"Neil");
  EXPECT_FALSE(p.rows.columns[3].valid[0]);
  EXPECT_EQ(p.rows.columns[5].texts[0], "Lima");
  EXPECT_EQ(p.rows.columns[8].ints[0], 1704067200LL * 1000000);
  EXPECT_EQ(p.rows.columns[8].ints[1], (1704153600LL - 3600) * 1000000);
  EXPECT_EQ(p.rows.op[0], Operation::kUpsert);
  EXPECT_EQ(p.rows.op[1], Operation::kDelete);
  EXPECT_EQ(p.rows.line[0], 1u);
  EXPECT_EQ(p.rows.line[1], 3u);

  ASSERT_EQ(p.rejects.size(), 4u);
  EXPECT_EQ(p.rejects[0].line, 2u);
  EXPECT_THAT(p.rejects[0].reason, HasSubstr("key \"customer_id\" is \"x\""));
  EXPECT_EQ(p.rejects[0].raw, "{\"customer_id\": \"x\", \"updated_at\": \"2024-01-02T00:00:00Z\"}");
  EXPECT_THAT(p.rejects[1].reason, HasSubstr("sequence \"updated_at\" is empty"));
  EXPECT_EQ(p.rejects[2].reason, "line 5 is not a JSON object: it is an array");
  EXPECT_THAT(p.rejects[3].reason, HasSubstr("key \"customer_id\" is \"1e400\""));
}

TEST(JsonLinesSourceTest, RecordParserWithoutSequenceTakesTheLoadTime) {
  auto parsed = ParseJson(
      "{\"customer_id\": 1, \"first_name\": \"Ann\"}\n"
      "{\"customer_id\": 2, \"updated_at\": \"2024-01-01T00:00:00Z\"}\n"
      "{\"customer_id\": 3, \"updated_at\": null}\n");
  const ParsedObject& p = parsed->out;
  ASSERT_FALSE(p.failed) << p.error;
  EXPECT_FALSE(p.rows.has_sequence);
  ASSERT_EQ(p.rows.size(), 2u);
  ASSERT_EQ(p.rejects.size(), 1u);
  EXPECT_EQ(p.rejects[0].line, 2u);
  EXPECT_THAT(p.rejects[0].reason, HasSubstr("line 2 has updated_at, which the file's first line has not"));
}

TEST(JsonLinesSourceTest, RecordParserRejectsACsvFileWhole) {
  auto parsed = ParseJson("customer_id,first_name\n1,Ann\n");
  const ParsedObject& p = parsed->out;
  EXPECT_TRUE(p.failed);
  EXPECT_THAT(p.error, HasSubstr("is this file CSV?"));
  EXPECT_TRUE(p.rows.columns.empty() || p.rows.size() == 0);
}

}  // namespace
}  // namespace dimstream
