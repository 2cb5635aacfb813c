#pragma once

#include <string_view>

#include "common/csv_reader.h"
#include "loader/record_source.h"

namespace dimstream {

// A CSV object (RFC 4180, a header row, LF or CRLF, an optional BOM) as a RecordSource over its whole
// content, which the caller keeps. An empty field is NULL. A record whose field count differs from the
// header's is bad, as is a malformed one (an unterminated quote, more than 2^20 fields).
class CsvSource : public RecordSource {
 public:
  explicit CsvSource(std::string_view content, char delimiter = ',');

  Status ReadHeader(std::vector<std::string>& names) override;
  SourceStatus Next(SourceRecord& record, std::string& why) override;
  Error failure() const override { return Error::Invalid(""); }
  bool Stable(std::string_view view) const override;
  void Release() override {}

 private:
  std::string_view content_;
  CsvReader reader_;
  CsvRecord csv_;
  size_t fields_ = 0;  // the header's
};

}  // namespace dimstream
