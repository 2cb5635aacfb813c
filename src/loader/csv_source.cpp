#include "loader/csv_source.h"

#include <fmt/format.h>

#include "common/utf8.h"

namespace dimstream {

CsvSource::CsvSource(std::string_view content, char delimiter)
    : content_(content), reader_(content, delimiter) {}

Status CsvSource::ReadHeader(std::vector<std::string>& names) {
  std::string error;
  CsvStatus st = reader_.Next(csv_, &error);
  if (st == CsvStatus::kEnd) {
    return Error::Invalid("the file is empty: a header row is required");
  }
  if (st == CsvStatus::kError) {
    return Error::Invalid("cannot read the header: " + error);
  }
  if (!IsValidUtf8(csv_.raw)) {
    return Error::Invalid("the header is not valid UTF-8 (is this a CSV file?)");
  }
  if (csv_.raw.find('\r') != std::string_view::npos) {
    // A CR that does not end the line (CRLF does, and is not part of `raw`): lines ended by CR alone
    // would otherwise read as one long header and every data row would vanish into it.
    return Error::Invalid(
        "the header line holds a carriage return (CR) that does not end it: are the lines ended by CR alone "
        "(old Mac style)? Save the file with LF or CRLF line endings");
  }
  names.assign(csv_.fields.begin(), csv_.fields.end());
  fields_ = names.size();
  return Ok();
}

SourceStatus CsvSource::Next(SourceRecord& record, std::string& why) {
  CsvStatus st = reader_.Next(csv_, &why);
  record.line = csv_.line;
  record.raw = csv_.raw;
  if (st == CsvStatus::kEnd) {
    return SourceStatus::kEnd;
  }
  if (st == CsvStatus::kError) {
    return SourceStatus::kBad;
  }
  if (csv_.fields.size() != fields_) {
    why = fmt::format("line {} has {} fields, the header has {}", csv_.line, csv_.fields.size(), fields_);
    return SourceStatus::kBad;
  }
  record.fields.resize(fields_);
  for (size_t i = 0; i < fields_; ++i) {
    record.fields[i] = SourceField{csv_.fields[i], csv_.fields[i].empty()};
  }
  return SourceStatus::kRecord;
}

bool CsvSource::Stable(std::string_view view) const {
  // Fields without "" escapes view the content; unescaped ones live in the reader's scratch.
  return view.data() >= content_.data() && view.data() + view.size() <= content_.data() + content_.size();
}

}  // namespace dimstream
