#include "loader/csv_source.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "common/utf8.h"

namespace dimstream {

CsvSource::CsvSource(std::unique_ptr<ByteStream> input, CsvOptions options)
    : input_(std::move(input)), options_(std::move(options)), reader_({}, options_.dialect, false) {}

CsvSource::CsvSource(std::string_view content, char delimiter)
    : options_{CsvDialect{delimiter}},
      window_(content),
      eof_(true),
      reader_(content, options_.dialect, true) {}

bool CsvSource::Refill() {
  const bool first = window_.data() == nullptr;
  const size_t rest = window_.size() - reader_.consumed();
  if (rest >= options_.max_record_bytes) {
    failure_ = Error::Invalid(fmt::format(
        "the record starting on line {} is longer than {} MiB (loader.max_record_bytes): is a closing quote "
        "missing, or the delimiter or the format wrong?",
        csv_.line, options_.max_record_bytes >> 20));
    return false;
  }
  // The unread rest moves to the front of a new block; the old one stays alive while views point into it.
  std::vector<char> next;
  next.resize(std::max({options_.block_bytes, 2 * rest, size_t{64}}));  // 64: room for a BOM at the start
  if (rest > 0) {  // (the first window is empty, and has no data pointer)
    std::memcpy(next.data(), window_.data() + reader_.consumed(), rest);
  }
  size_t filled = rest;
  while (!eof_ && filled < next.size()) {
    auto got = input_->Read(next.data() + filled, next.size() - filled);
    if (!got.ok()) {
      failure_ = got.error();
      return false;
    }
    eof_ = *got == 0;
    filled += *got;
  }
  next.resize(filled);
  if (block_viewed_) {
    held_.push_back(std::move(block_));
  }
  block_ = std::move(next);
  block_viewed_ = false;
  window_ = std::string_view(block_.data(), block_.size());
  if (first) {
    reader_ = CsvReader(window_, options_.dialect, eof_);  // skips a BOM
  } else {
    reader_.Continue(window_, eof_);
  }
  return true;
}

CsvStatus CsvSource::ReadRecord(std::string* why) {
  while (true) {
    CsvStatus st = reader_.Next(csv_, why);
    if (st != CsvStatus::kNeedMore) {
      block_viewed_ = block_viewed_ || st != CsvStatus::kEnd;
      return st;
    }
    if (!Refill()) {
      return CsvStatus::kNeedMore;  // failed: failure_ says why
    }
  }
}

Status CsvSource::ReadHeader(std::vector<std::string>& names) {
  if (!options_.header) {
    names = options_.columns;
    fields_ = names.size();
    return Ok();
  }
  std::string error;
  CsvStatus st = ReadRecord(&error);
  if (st == CsvStatus::kNeedMore) {
    return failure_;
  }
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
  CsvStatus st = ReadRecord(&why);
  record.line = csv_.line;
  record.raw = csv_.raw;
  if (st == CsvStatus::kNeedMore) {
    return SourceStatus::kFailed;
  }
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
  // Fields without escapes view a block; unescaped ones live in the reader's scratch.
  auto within = [&](std::string_view block) {
    return view.data() >= block.data() && view.data() + view.size() <= block.data() + block.size();
  };
  return within(window_) || std::any_of(held_.begin(), held_.end(), [&](const std::vector<char>& block) {
           return within(std::string_view(block.data(), block.size()));
         });
}

void CsvSource::Release() {
  held_.clear();
  block_viewed_ = false;
}

}  // namespace dimstream
