#include "common/csv_reader.h"

#include <bit>
#include <cassert>
#include <cstring>

#include <fmt/format.h>

namespace dimstream {

namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// Each field costs a view (16 bytes) while its record is read, so a line made mostly of delimiters would
// cost 16 times its size (a 100 MB line of commas: 1.6 GB and more while the vector grows). A record with
// more fields than this is malformed: reported as an error, skipped to the end of its physical line.
constexpr size_t kMaxFields = size_t{1} << 20;

// First delimiter or LF in [p, end), or end. Unquoted fields are most of the input and mostly short, so
// this looks at eight bytes per step (SWAR) instead of calling memchr twice per field.
inline const char* FindFieldEnd(const char* p, const char* end, char delimiter) {
  if constexpr (std::endian::native == std::endian::little) {
    constexpr uint64_t kOnes = 0x0101010101010101ULL;
    constexpr uint64_t kHigh = 0x8080808080808080ULL;
    const uint64_t delimiters = kOnes * static_cast<unsigned char>(delimiter);
    const uint64_t newlines = kOnes * static_cast<unsigned char>('\n');
    while (end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, sizeof word);
      const uint64_t a = word ^ delimiters;
      const uint64_t b = word ^ newlines;
      // The lowest flagged byte is exact (carries only disturb bytes above a true match), which is all
      // we need.
      const uint64_t hit = (((a - kOnes) & ~a) | ((b - kOnes) & ~b)) & kHigh;
      if (hit != 0) {
        return p + std::countr_zero(hit) / 8;
      }
      p += 8;
    }
  }
  while (p < end && *p != delimiter && *p != '\n') {
    ++p;
  }
  return p;
}

uint64_t CountNewlines(const char* p, const char* end) {
  uint64_t n = 0;
  while (p < end) {
    const void* hit = std::memchr(p, '\n', static_cast<size_t>(end - p));
    if (hit == nullptr) {
      break;
    }
    ++n;
    p = static_cast<const char*>(hit) + 1;
  }
  return n;
}

// The record's bytes without the line terminator that ends at `end` (exclusive), if any.
std::string_view WithoutTerminator(const char* start, const char* end) {
  if (end > start && end[-1] == '\n') {
    --end;
    if (end > start && end[-1] == '\r') {
      --end;
    }
  }
  return {start, static_cast<size_t>(end - start)};
}

std::string DescribeByte(char c) {
  if (c >= 0x20 && c < 0x7F) {
    return fmt::format("character '{}'", c);
  }
  return fmt::format("byte 0x{:02X}", static_cast<unsigned char>(c));
}

}  // namespace

CsvReader::CsvReader(std::string_view data, char delimiter) : CsvReader(data, CsvDialect{delimiter}, true) {}

CsvReader::CsvReader(std::string_view data, CsvDialect dialect, bool final)
    : begin_(data.data()),
      pos_(data.data()),
      end_(data.data() + data.size()),
      dialect_(dialect),
      delimiter_(dialect.delimiter),
      final_(final) {
  // These would make the grammar ambiguous; the configuration refuses them before a reader exists.
  assert(dialect.delimiter != dialect.quote && dialect.delimiter != '\n' && dialect.delimiter != '\r');
  if (data.starts_with(kUtf8Bom)) {
    pos_ += kUtf8Bom.size();
  }
}

void CsvReader::Continue(std::string_view data, bool final) {
  begin_ = pos_ = data.data();
  end_ = data.data() + data.size();
  final_ = final;
}

CsvStatus CsvReader::NeedMore(CsvRecord& record, const char* start) {
  record.fields.clear();
  record.quoted.clear();
  record.raw = {};
  pos_ = start;
  return CsvStatus::kNeedMore;
}

const char* CsvReader::CloseQuote(const char* content, bool& escaped, idx_t& scratch_offset,
                                  uint64_t& newlines) {
  const char quote = dialect_.quote;
  const char escape = dialect_.escape;
  const char* segment = content;
  while (true) {
    const char* hit =
        static_cast<const char*>(std::memchr(segment, quote, static_cast<size_t>(end_ - segment)));
    if (escape != quote) {
      const void* esc = std::memchr(segment, escape, static_cast<size_t>((hit ? hit : end_) - segment));
      if (esc != nullptr) {
        const char* e = static_cast<const char*>(esc);
        if (end_ - e < 2) {
          return nullptr;  // the escaped byte is past the window
        }
        newlines += CountNewlines(segment, e + 2);
        if (!escaped) {
          escaped = true;
          scratch_offset = scratch_.size();
        }
        scratch_.append(segment, e);
        scratch_.push_back(e[1]);
        segment = e + 2;
        continue;
      }
    }
    if (hit == nullptr) {
      newlines += CountNewlines(segment, end_);
      return nullptr;
    }
    newlines += CountNewlines(segment, hit);
    if (escape == quote && end_ - hit >= 2 && hit[1] == quote) {
      if (!escaped) {
        escaped = true;
        scratch_offset = scratch_.size();
      }
      scratch_.append(segment, hit + 1);  // keeps one of the two quotes
      segment = hit + 2;
      continue;
    }
    if (escape == quote && end_ - hit < 2 && !final_) {
      return nullptr;  // a quote at the window's end may be the first of ""
    }
    if (escaped) {
      scratch_.append(segment, hit);
    }
    return hit;
  }
}

CsvStatus CsvReader::Next(CsvRecord& record, std::string* error) {
  record.fields.clear();
  record.quoted.clear();
  record.raw = {};
  while (pos_ < end_) {
    if (*pos_ == '\n') {
      ++pos_;
    } else if (*pos_ == '\r' && end_ - pos_ >= 2 && pos_[1] == '\n') {
      pos_ += 2;
    } else if (*pos_ == '\r' && end_ - pos_ == 1 && !final_) {
      return NeedMore(record, pos_);  // CR LF split between windows
    } else {
      break;
    }
    ++line_;
  }
  if (pos_ == end_) {
    return final_ ? CsvStatus::kEnd : NeedMore(record, pos_);
  }
  record.line = line_;
  scratch_.clear();
  scratch_fields_.clear();

  const char* const start = pos_;
  const char* p = pos_;
  uint64_t newlines = 0;  // LFs inside quoted fields of this record so far
  const char* record_end = nullptr;
  const char* next = nullptr;
  while (record_end == nullptr) {
    if (record.fields.size() == kMaxFields) {
      return Fail(record, start, p, fmt::format("line {} has more than {} fields", record.line, kMaxFields),
                  error);
    }
    if (p < end_ && *p == dialect_.quote) {
      const uint64_t open_line = record.line + newlines;
      const char* const content = p + 1;
      bool escaped = false;
      idx_t scratch_offset = 0;
      const char* close = CloseQuote(content, escaped, scratch_offset, newlines);
      if (close == nullptr) {
        if (!final_) {
          return NeedMore(record, start);
        }
        // Nothing after an open quote can be told apart from field data, so the rest of the input is
        // this record.
        record.raw = WithoutTerminator(start, end_);
        pos_ = end_;
        if (error != nullptr) {
          *error = fmt::format("unterminated quoted field starting on line {}", open_line);
        }
        record.fields.clear();
        record.quoted.clear();
        return CsvStatus::kError;
      }
      if (escaped) {
        scratch_fields_.push_back({record.fields.size(), scratch_offset, scratch_.size() - scratch_offset});
        record.fields.emplace_back();
      } else {
        record.fields.emplace_back(content, static_cast<size_t>(close - content));
      }
      record.quoted.push_back(true);
      p = close + 1;
      if (p == end_ || (*p == '\r' && end_ - p == 1)) {
        if (!final_) {
          return NeedMore(record, start);
        }
        if (p == end_) {
          record_end = next = p;
          continue;
        }
      }
      if (*p == delimiter_) {
        ++p;
      } else if (*p == '\n') {
        record_end = p;
        next = p + 1;
      } else if (*p == '\r' && end_ - p >= 2 && p[1] == '\n') {
        record_end = p;
        next = p + 2;
      } else {
        return Fail(record, start, p,
                    fmt::format("unexpected {} after closing quote in field {}", DescribeByte(*p),
                                record.fields.size()),
                    error);
      }
    } else {
      const char* field_end = FindFieldEnd(p, end_, delimiter_);
      if (field_end == end_) {
        if (!final_) {
          return NeedMore(record, start);
        }
        record.fields.emplace_back(p, static_cast<size_t>(field_end - p));
        record_end = next = field_end;
      } else if (*field_end == delimiter_) {
        record.fields.emplace_back(p, static_cast<size_t>(field_end - p));
        p = field_end + 1;
      } else {
        next = field_end + 1;
        if (field_end > p && field_end[-1] == '\r') {
          --field_end;
        }
        record.fields.emplace_back(p, static_cast<size_t>(field_end - p));
        record_end = field_end;
      }
      record.quoted.push_back(false);
    }
  }

  for (const ScratchField& f : scratch_fields_) {
    record.fields[f.field] = std::string_view(scratch_).substr(f.offset, f.size);
  }
  record.raw = std::string_view(start, static_cast<size_t>(record_end - start));
  pos_ = next;
  line_ += newlines + (next != record_end ? 1 : 0);
  return CsvStatus::kRecord;
}

CsvStatus CsvReader::Fail(CsvRecord& record, const char* record_start, const char* fault, std::string message,
                          std::string* error) {
  const void* hit = std::memchr(fault, '\n', static_cast<size_t>(end_ - fault));
  if (hit == nullptr && !final_) {
    return NeedMore(record, record_start);  // the rest of the faulty line is past the window
  }
  const char* next = hit == nullptr ? end_ : static_cast<const char*>(hit) + 1;
  record.raw = WithoutTerminator(record_start, next);
  record.fields.clear();
  record.quoted.clear();
  line_ += CountNewlines(record_start, next);
  pos_ = next;
  if (error != nullptr) {
    *error = std::move(message);
  }
  return CsvStatus::kError;
}

}  // namespace dimstream
