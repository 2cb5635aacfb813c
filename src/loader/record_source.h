#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace dimstream {

// One field of a record as text; `null` when the file says the value is absent (an empty CSV field, a JSON
// null or missing key, a Parquet NULL).
struct SourceField {
  std::string_view text;
  bool null = false;
};

// One record of a file, whatever its format. Views are valid until the next call to RecordSource::Next,
// except those for which RecordSource::Stable says more.
struct SourceRecord {
  uint64_t line = 0;     // where the record starts (the header is line 1; for Parquet the row number)
  std::string_view raw;  // the record as the file has it, for a reject's raw text
  std::vector<SourceField> fields;  // in the order of the header's names
};

// kRecord: a record. kEnd: no more. kBad: this record cannot be read (it is rejected, reading goes on).
// kFailed: the file cannot be read any further (corrupt compression, an I/O error, a record longer than the
// limit): failure() says why, and the load is rolled back.
enum class SourceStatus { kRecord, kEnd, kBad, kFailed };

// A file's records in its format, as fields of text that the record parser checks against the entity's
// types: CSV (CsvSource), JSON lines (JsonLinesSource), Parquet (ParquetSource). Created per object by the
// loader (OpenRecordSource in loader/source_factory.h), read from one thread, front to back, in bounded
// memory whatever the file's size.
class RecordSource {
 public:
  virtual ~RecordSource() = default;
  // The column names, in field order, as the file spells them. kInvalidInput, with a reason a person can act
  // on, when the file cannot be read in its format at all (it is then rejected whole); kRetryable for an I/O
  // failure that may pass.
  virtual Status ReadHeader(std::vector<std::string>& names) = 0;
  // kRecord: `record` holds the next record, with one field per header name. kEnd: no more. kBad: the
  // record at record.line cannot be read (record.raw holds it, `why` says what is wrong); reading goes on
  // with the next record. kFailed: see failure().
  virtual SourceStatus Next(SourceRecord& record, std::string& why) = 0;
  // Why the last Next returned kFailed: kInvalidInput (the file is rejected whole, with this message) or
  // kRetryable (an I/O failure: the load is tried again later).
  virtual Error failure() const = 0;
  // True when `view` (of a field or a record's raw text) stays valid until the next Release, so that the
  // parser need not copy it.
  virtual bool Stable(std::string_view view) const = 0;
  // The caller is done with every view of the records read so far: the source may reuse their memory.
  virtual void Release() = 0;
  // Columns the file holds that the header did not name up front (JSON lines: keys of later objects that
  // the first did not have), for load_history's ignored column count. 0 for formats with a header.
  virtual uint64_t extra_columns() const { return 0; }
};

}  // namespace dimstream
