#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace dimstream {

// One field of a record as text; `null` when the file says the value is absent (an empty CSV field, a JSON
// null or missing key).
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

enum class SourceStatus { kRecord, kEnd, kBad };

// A file's records in its format, as fields of text that the record parser checks against the entity's
// types: CSV (CsvSource) now; JSON lines and Parquet implement it too. Created per object by the loader
// and read from one thread.
class RecordSource {
 public:
  virtual ~RecordSource() = default;
  // The column names, in field order, as the file spells them. kInvalidInput, with a reason a person can act
  // on, when the file cannot be read in its format at all (it is then rejected whole).
  virtual Status ReadHeader(std::vector<std::string>& names) = 0;
  // kRecord: `record` holds the next record, with one field per header name. kEnd: no more. kBad: the
  // record at record.line cannot be read (record.raw holds it, `why` says what is wrong); reading goes on
  // with the next record.
  virtual SourceStatus Next(SourceRecord& record, std::string& why) = 0;
  // True when `view` (of a field) stays valid as long as the source and its input do, so that the parser
  // need not copy it.
  virtual bool Stable(std::string_view view) const = 0;
};

}  // namespace dimstream
