#include "loader/csv_source.h"

#include <gtest/gtest.h>

#include <random>

#include "common/testing/failing_stream.h"
#include "loader/record_parser.h"

namespace dimstream {
namespace {

// A record as the source gave it, copied.
struct Seen {
  SourceStatus status;
  uint64_t line;
  std::string raw;
  std::vector<std::optional<std::string>> fields;
  bool operator==(const Seen&) const = default;
};

void PrintTo(const Seen& s, std::ostream* os) {
  *os << "{" << static_cast<int>(s.status) << " line " << s.line << " raw '" << s.raw << "' fields "
      << s.fields.size() << "}";
}

// Every record of `source`, with the views of each batch of `release_every` records checked again just
// before Release (a view that did not survive would read other bytes, or freed memory under ASan).
std::vector<Seen> ReadAll(RecordSource& source, size_t release_every,
                          std::vector<std::string>* header = nullptr) {
  std::vector<std::string> names;
  EXPECT_TRUE(source.ReadHeader(names).ok());
  if (header != nullptr) {
    *header = names;
  }
  std::vector<Seen> out;
  std::vector<std::pair<std::string_view, std::string>> batch;  // stable view, the bytes it held
  SourceRecord r;
  std::string why;
  while (true) {
    SourceStatus st = source.Next(r, why);
    if (st == SourceStatus::kEnd || st == SourceStatus::kFailed) {
      if (st == SourceStatus::kFailed) {
        out.push_back({st, r.line, source.failure().message, {}});
      }
      break;
    }
    Seen s{st, r.line, std::string(r.raw), {}};
    for (const SourceField& f : st == SourceStatus::kRecord ? r.fields : std::vector<SourceField>{}) {
      s.fields.push_back(f.null ? std::nullopt : std::optional<std::string>(f.text));
      if (source.Stable(f.text)) {
        batch.emplace_back(f.text, std::string(f.text));
      }
    }
    out.push_back(std::move(s));
    if (out.size() % release_every == 0) {
      for (const auto& [view, bytes] : batch) {
        EXPECT_EQ(std::string(view), bytes);
      }
      batch.clear();
      source.Release();
    }
  }
  return out;
}

std::string SampleCsv(size_t rows, unsigned seed) {
  std::mt19937 rng(seed);
  std::string out = "\xEF\xBB\xBFid,name,note\r\n";
  for (size_t i = 0; i < rows; ++i) {
    std::string name(rng() % 40, 'a' + static_cast<char>(i % 26));
    switch (rng() % 5) {
      case 0:
        out += fmt::format("{},\"{}, with \"\"quotes\"\"\",\"line\nbreak\"\r\n", i, name);
        break;
      case 1:
        out += fmt::format("{},,\n", i);
        break;
      case 2:
        out += fmt::format("{},{}\n", i, name);  // a field short: bad
        break;
      case 3:
        out += "\r\n";  // blank line
        break;
      default:
        out += fmt::format("{},{},plain\n", i, name);
    }
  }
  return out;
}

TEST(CsvSourceTest, StreamedInTinyBlocksReadsAsWhole) {
  const std::string csv = SampleCsv(3000, 7);
  CsvSource whole(csv);
  std::vector<std::string> header_whole;
  std::vector<Seen> expected = ReadAll(whole, 1000000, &header_whole);
  ASSERT_GT(expected.size(), 2000u);
  for (size_t block : {1, 2, 3, 7, 64, 4096}) {
    for (size_t max_read : {1, 5, 1000}) {
      CsvOptions options;
      options.block_bytes = block;
      CsvSource streamed(std::make_unique<MemoryStream>(csv, max_read), options);
      std::vector<std::string> header;
      std::vector<Seen> got = ReadAll(streamed, 13, &header);
      ASSERT_EQ(got.size(), expected.size()) << "block " << block << ", reads of " << max_read;
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(got[i], expected[i]) << "record " << i << ", block " << block << ", reads of " << max_read;
      }
      EXPECT_EQ(header, header_whole);
    }
  }
}

TEST(CsvSourceTest, DialectDelimiterQuoteAndEscape) {
  CsvOptions options;
  options.dialect = CsvDialect{';', '\'', '\\'};
  CsvSource source(std::make_unique<MemoryStream>("a;b\n1;'x;\\'y\\\\'\n2;'multi\nline'\n", 3), options);
  std::vector<Seen> got = ReadAll(source, 1);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].fields[1], "x;'y\\");
  EXPECT_EQ(got[1].fields[1], "multi\nline");
  EXPECT_EQ(got[1].line, 3u);
}

TEST(CsvSourceTest, TabDelimitedWithoutHeader) {
  CsvOptions options;
  options.dialect.delimiter = '\t';
  options.header = false;
  options.columns = {"id", "name"};
  CsvSource source(std::make_unique<MemoryStream>("1\tann\n2\tbob\n"), options);
  std::vector<std::string> header;
  std::vector<Seen> got = ReadAll(source, 1, &header);
  EXPECT_EQ(header, options.columns);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].line, 1u);  // no header: the first record is line 1
  EXPECT_EQ(got[1].fields[1], "bob");
}

TEST(CsvSourceTest, RecordLongerThanTheLimitFailsTheFile) {
  CsvOptions options;
  options.block_bytes = 256;
  options.max_record_bytes = 1024;
  std::string csv = "id,name\n1,ok\n2,\"" + std::string(5000, 'x');  // never closed
  CsvSource source(std::make_unique<MemoryStream>(csv), options);
  std::vector<Seen> got = ReadAll(source, 1);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].status, SourceStatus::kFailed);
  EXPECT_NE(got[1].raw.find("line 3 is longer than"), std::string::npos) << got[1].raw;
}

TEST(CsvSourceTest, StreamErrorKeepsItsKind) {
  CsvOptions options;
  options.block_bytes = 16;
  std::string csv = "customer_id,first_name\n";
  for (int i = 0; i < 100; ++i) {
    csv += fmt::format("{},name\n", i);
  }
  CsvSource source(
      std::make_unique<test_support::FailingStream>(csv.substr(0, 200), Error::Retryable("connection reset")),
      options);
  ParsedObject out;
  ASSERT_TRUE(ParseRecords(source, EntitySpec{}, {}, out).ok());
  EXPECT_TRUE(out.failed);
  EXPECT_EQ(out.failure_kind, ErrorKind::kRetryable);
  EXPECT_NE(out.error.find("connection reset"), std::string::npos) << out.error;
}

// Batches through a sink hold the same rows as one parse of the whole file, and the sink is called with
// bounded batches.
TEST(CsvSourceTest, BatchesThroughASinkEqualTheWhole) {
  std::string csv = "customer_id,first_name,last_name,email,street,city,state,country,updated_at,op\n";
  for (int i = 0; i < 5000; ++i) {
    csv += fmt::format("{},n{},l,e,s,c,st,co,2024-01-01T00:00:{:02}Z,{}\n", i % 700, i, i % 60,
                       i % 9 ? "U" : "X");
  }
  ParsedObject whole;
  ParseObject(csv, EntitySpec{}, {}, whole);
  CsvOptions options;
  options.block_bytes = 100;
  CsvSource source(std::make_unique<MemoryStream>(csv, 77), options);
  ParseOptions parse;
  parse.batch_rows = 300;
  ParsedObject batched;
  std::vector<std::string> names;
  std::vector<uint64_t> lines;
  std::vector<uint64_t> reject_lines;
  size_t batches = 0;
  ASSERT_TRUE(ParseRecords(source, EntitySpec{}, parse, batched, [&](ParsedObject& b) -> Status {
                ++batches;
                EXPECT_LE(b.rows.size() + b.rejects.size(), 300u);
                for (size_t i = 0; i < b.rows.size(); ++i) {
                  names.emplace_back(b.rows.columns[1].texts[i]);
                  lines.push_back(b.rows.line[i]);
                }
                for (const RejectedRow& r : b.rejects) {
                  reject_lines.push_back(r.line);
                }
                return Ok();
              }).ok());
  EXPECT_GT(batches, 15u);
  EXPECT_EQ(batched.total_rows, whole.rows.size());
  EXPECT_EQ(batched.total_rejects, whole.rejects.size());
  ASSERT_EQ(names.size(), whole.rows.size());
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(names[i], whole.rows.columns[1].texts[i]);
    EXPECT_EQ(lines[i], whole.rows.line[i]);
  }
  ASSERT_EQ(reject_lines.size(), whole.rejects.size());
  for (size_t i = 0; i < reject_lines.size(); ++i) {
    EXPECT_EQ(reject_lines[i], whole.rejects[i].line);
  }
}

}  // namespace
}  // namespace dimstream
