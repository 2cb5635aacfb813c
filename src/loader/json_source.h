#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/byte_stream.h"
#include "loader/record_source.h"

namespace dimstream {

// JSON lines (.jsonl, .ndjson, .json): one JSON object per line, read from a stream in bounded memory.
// Keys are column names, matched case-insensitively (trimmed of blanks and lower-cased, as CSV headers are).
// The header is `columns` (the entity's input columns, lower-case) plus those of `optional_columns` that
// the file's first non-blank line holds as keys, even with a null value (the sequence columns: a file
// without them takes its load time as sequence). A field is NULL when its key is missing or null; a string
// is its unescaped text, a number its text as written (1e400 and 30-digit integers too: the column's type
// decides), a boolean `true`/`false`, a nested object or array its JSON text as written. Blank lines (only
// spaces, tabs, CR) are skipped. A line that is not one JSON object, has a key twice, is nested deeper than
// 1024 levels, holds invalid UTF-8, or has a value of an optional column the first line lacked, is kBad
// with the reason; a line longer than `max_line_bytes` fails the file (kFailed, kInvalidInput), as does an
// error of the stream (its kind kept). `record.line` is the 1-based physical line; `raw` the line without
// its terminator. Keys of no column are ignored and counted once each by extra_columns() (up to 2^20
// distinct ones).
//
// ReadHeader reads the first non-blank line and keeps it as the first record. It refuses the file
// (kInvalidInput) when that line starts with neither '{' nor '[' (after a byte order mark and blanks): a
// CSV or binary file named .json would otherwise be one bad line per record. Any other first line that is
// not an object is one bad line, and the header then has no optional column. An empty file, or one of
// blank lines only, has `columns` as header and no records.
//
// Memory: lines are parsed where they lie in the blocks read from the stream, and every view a record
// holds (raw, fields, unescaped strings kept in an arena) is Stable: valid until the next Release, which
// frees every block but the one holding the unread bytes (a Release before the first Next keeps the first
// record). So the source holds the blocks of the records read since the last Release plus one block (1 MiB,
// less for a small max_line_bytes; a block holding a line longer than that grows to twice the line), and
// simdjson's buffers for the longest line. Created per object, read from one thread by the record parser.
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
