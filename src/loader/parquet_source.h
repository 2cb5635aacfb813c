#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "loader/record_source.h"

namespace dimstream {

// A Parquet file read through DuckDB's built-in reader (read_parquet), streamed a data chunk at a time
// from an in-memory DuckDB of its own (memory limited to `memory_limit`, e.g. "256MB"), so that a file
// larger than memory is read in bounded memory. The header is the file's top-level column names. Every
// value is given as text for the record parser to check against the column's declared type: scalars as
// DuckDB casts them to VARCHAR (integers and decimals exactly, timestamps ISO-8601, booleans
// true/false), nested values (struct, list, map) as their JSON text; NULL as null. `record.line` is the
// 1-based row number in the file; `raw` the row's values as one JSON object, for a reject. A file that is
// not Parquet, has a corrupt footer or cannot be opened fails in ReadHeader (kInvalidInput with DuckDB's
// reason); a failure while reading is kFailed.
class ParquetSource : public RecordSource {
 public:
  ParquetSource(std::filesystem::path file, std::string memory_limit);
  ~ParquetSource() override;

  Status ReadHeader(std::vector<std::string>& names) override;
  SourceStatus Next(SourceRecord& record, std::string& why) override;
  Error failure() const override;
  bool Stable(std::string_view view) const override;
  void Release() override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dimstream
