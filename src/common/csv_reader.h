#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/types.h"

namespace dimstream {

// One record as CsvReader::Next returns it. Views are valid until the next call to Next.
struct CsvRecord {
  uint64_t line = 0;                     // 1-based physical line where the record starts
  std::vector<std::string_view> fields;  // unescaped field values
  std::vector<bool> quoted;  // quoted[i]: field i was written in quotes (so "" is an empty string, not NULL)
  std::string_view raw;      // the record's bytes as in the input, without its line terminator
};

// kNeedMore: the input given so far ends inside a record (or where one may start); only when it was given as
// not final. The reader stands at that record's start (consumed()) and goes on from there after Continue.
enum class CsvStatus { kRecord, kEnd, kError, kNeedMore };

// How a CSV file spells its fields. Inside a quoted field, `escape` followed by any byte is that byte; when
// `escape` is `quote` (the RFC 4180 default), "" is a quote. Outside quotes both are ordinary data.
struct CsvDialect {
  char delimiter = ',';
  char quote = '"';
  char escape = '"';
  bool operator==(const CsvDialect&) const = default;
};

// Reads RFC 4180 records one at a time out of a buffer that holds the input, or (streamed) a window of it:
// given as not final, a record that reaches the window's end is kNeedMore, and Continue gives the next
// window, which starts with the bytes from consumed() on. It owns only a
// scratch buffer for fields that contain "" escapes; every other field is a view into the caller's
// buffer, so a record costs no allocation once `record`'s vectors have grown. The loader creates one
// per file and calls Next from a single thread; a reader is not shared between threads.
//
// Fields are separated by the delimiter; a record ends at LF or CRLF (a lone CR is data). A field that
// starts with '"' is quoted: inside it "" is a quote and delimiters, CR and LF are data. A '"' inside an
// unquoted field is kept as it is. Lines with no bytes at all are skipped; the caller sees every other
// line, whatever its field count, and checks counts itself; only a record of more than 2^20 fields is an
// error (each field costs a view while its record is read, so a line of delimiters would cost 16x its size).
class CsvReader {
 public:
  // `data` is the whole input (kept by the caller, must outlive the reader), or its first window when not
  // `final`. A UTF-8 BOM at the start is skipped.
  explicit CsvReader(std::string_view data, char delimiter = ',');
  CsvReader(std::string_view data, CsvDialect dialect, bool final);

  // The next window of a streamed input: the bytes from consumed() of the last window on, then more; `final`
  // when it reaches the input's end. Line numbers go on.
  void Continue(std::string_view data, bool final);
  // Bytes of the current window read so far (the next record starts there).
  size_t consumed() const { return static_cast<size_t>(pos_ - begin_); }

  // kRecord: `record` holds the next record. kEnd: no more input. kError: the record starting at
  // record.line is malformed; `record.raw` holds its bytes, `record.fields` is empty and `*error` (when
  // not null) says what is wrong and where. Reading continues with the next record on the next call: after
  // the end of the physical line holding the fault, or at the end of the input for an unterminated quote.
  CsvStatus Next(CsvRecord& record, std::string* error);

 private:
  // Where an unescaped field lives in scratch_ until the record is complete: scratch_ may move while
  // later fields are appended, so views into it are made only at the end.
  struct ScratchField {
    idx_t field;
    idx_t offset;
    idx_t size;
  };

  // Ends a malformed record at the end of the physical line containing `fault` and reports it.
  CsvStatus Fail(CsvRecord& record, const char* record_start, const char* fault, std::string message,
                 std::string* error);

  // kNeedMore: the record from `start` on needs more input; the reader stays at `start`.
  CsvStatus NeedMore(CsvRecord& record, const char* start);
  // The closing quote of the quoted field whose content starts at `content`, unescaping into scratch_ when
  // the field holds escapes; nullptr when the window ends first. `newlines` counts the LFs passed.
  const char* CloseQuote(const char* content, bool& escaped, idx_t& scratch_offset, uint64_t& newlines);

  const char* begin_;
  const char* pos_;
  const char* end_;
  uint64_t line_ = 1;  // physical line at pos_
  CsvDialect dialect_;
  char delimiter_;
  bool final_ = true;
  std::string scratch_;
  std::vector<ScratchField> scratch_fields_;
};

}  // namespace dimstream
