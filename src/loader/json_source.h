#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/byte_stream.h"
#include "loader/record_source.h"

namespace dimstream {

// JSON lines (.jsonl, .ndjson, .json): one JSON object per line, read from a stream in bounded memory.
// Keys are column names, matched case-insensitively (compared lower-cased, as CSV headers are). The header
// is `columns` (the entity's input columns, lower-case) plus those of `optional_columns` that the file's
// first object holds (the sequence columns: a file without them takes its load time as sequence). A field
// is NULL when its key is missing or null; a string is its unescaped text, a number its text as written,
// a boolean `true`/`false`, a nested object or array its JSON text. Blank lines (only spaces, tabs, CR) are
// skipped. A line that is not one JSON object, has a key twice, is nested deeper than the parser allows,
// holds invalid UTF-8, or has a value of an optional column the first object lacked, is kBad with the
// parser's reason; a line longer than `max_line_bytes` fails the file (kFailed). `record.line` is the
// 1-based physical line; `raw` the line without its terminator. Keys of no column are ignored and counted
// once each by extra_columns().
class JsonLinesSource : public RecordSource {
 public:
  JsonLinesSource(std::unique_ptr<ByteStream> input, std::vector<std::string> columns,
                  std::vector<std::string> optional_columns, uint64_t max_line_bytes);
  ~JsonLinesSource() override;

  Status ReadHeader(std::vector<std::string>& names) override;
  SourceStatus Next(SourceRecord& record, std::string& why) override;
  Error failure() const override;
  bool Stable(std::string_view view) const override;
  void Release() override;
  uint64_t extra_columns() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dimstream
