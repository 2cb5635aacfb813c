#pragma once

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_stream.h"
#include "common/csv_reader.h"
#include "loader/record_source.h"

namespace dimstream {

// How an entity's CSV files are spelled (its [entities.loader] settings).
struct CsvOptions {
  CsvDialect dialect;
  // false: the file has no header row; `columns` names its fields in order.
  bool header = true;
  std::vector<std::string> columns;
  // A record longer than this fails the file: memory stays bounded whatever the file holds (a missing
  // closing quote, a file that is not CSV).
  uint64_t max_record_bytes = uint64_t{64} << 20;
  // Bytes read from the stream at a time.
  size_t block_bytes = size_t{4} << 20;
};

// A CSV object (RFC 4180 and the dialect's delimiter, quote and escape; a header row unless told otherwise;
// LF or CRLF; an optional BOM) as a RecordSource, read from a stream a block at a time. An empty field is
// NULL. A record whose field count differs from the header's is bad, as is a malformed one (an unterminated
// quote, more than 2^20 fields). Memory: the blocks holding records since the last Release, plus one.
class CsvSource : public RecordSource {
 public:
  CsvSource(std::unique_ptr<ByteStream> input, CsvOptions options);
  // Over bytes the caller keeps (tests, fuzzing).
  explicit CsvSource(std::string_view content, char delimiter = ',');

  Status ReadHeader(std::vector<std::string>& names) override;
  SourceStatus Next(SourceRecord& record, std::string& why) override;
  Error failure() const override { return failure_; }
  bool Stable(std::string_view view) const override;
  void Release() override;

 private:
  // Reads the next window: the unread rest of the current block, then as much of the stream as fits.
  // False (with failure_ set) when the stream fails or the record being read grows past its limit.
  bool Refill();
  CsvStatus ReadRecord(std::string* why);

  std::unique_ptr<ByteStream> input_;
  CsvOptions options_;
  // Vectors, not strings: a moved string may carry its bytes along (short-string storage), a vector never.
  std::vector<char> block_;  // the current window's bytes, when streamed
  std::string_view window_;  // the current window: block_, or the caller's content
  std::deque<std::vector<char>>
      held_;                   // earlier blocks that views returned since the last Release point into
  bool block_viewed_ = false;  // views of block_ were returned since the last Release
  bool eof_ = false;
  CsvReader reader_;
  CsvRecord csv_;
  size_t fields_ = 0;  // the header's
  Error failure_{ErrorKind::kInvalidInput, ""};
};

}  // namespace dimstream
