#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "loader/record_source.h"

namespace dimstream {

// A Parquet file read through DuckDB's built-in reader (read_parquet), streamed a data chunk (up to 2048
// rows) at a time from an in-memory DuckDB of its own (one thread, memory limited to `memory_limit`, e.g.
// "256MB"), so that a file larger than memory is read in bounded memory. Created by the loader per object,
// on a local file it owns; used from one thread.
//
// The header is the file's top-level column names as DuckDB reports them (as written). Every value is
// given as text for the record parser to check against the column's declared type:
//   - scalars as DuckDB casts them to VARCHAR: integers, hugeints and decimals exactly ("12.50"); doubles
//     and floats in their shortest round-trip form ("0.1", "1e+300"; NaN and infinities as "nan", "inf",
//     which a double column rejects); booleans true/false; dates YYYY-MM-DD; timestamps
//     "2024-01-01 10:00:00.5" (naive: UTC) and with time zone "2024-01-01 10:00:00+00" (always UTC),
//     both accepted by ParseTimestamp; nanosecond timestamps keep 9 digits, of which the parser reads 6;
//   - BLOB (a byte array without a string annotation, as older Hive, Impala and Spark write text) as its
//     bytes: text in them loads, bytes that are not UTF-8 reject the row when the column is the entity's;
//   - nested values (struct, list, map, array, union) as their JSON text (to_json);
//   - NULL as null.
// `record.line` is the 1-based row number in the file (rows come in file order). `raw` is the row as one
// JSON object, {"customer_id":"1","tags":["a"],"email":null}: scalars as JSON strings, nested values as
// their JSON, bytes that are not UTF-8 written as the text \xNN so that `raw` is always valid UTF-8 (an
// undeclared binary column does not reject the row). `raw` is rewritten by every Next; the fields view the
// chunks, which are kept until Release (Stable is true for them), so the caller should Release after each
// batch: until then every chunk read stays in memory (held_chunks()).
//
// ReadHeader fails when the file is not Parquet, its footer is corrupt or it has no columns
// (kInvalidInput: "cannot read x.parquet as Parquet: <DuckDB's reason>", paths shown as the file name
// alone), and on an I/O failure or a missing file (kRetryable). A failure while reading the rows (a corrupt
// page, text that is not UTF-8 in a string column, a row group that does not fit the memory limit) is
// kFailed: failure() is kInvalidInput, or kRetryable for I/O. The path is read as a file name, never as a
// glob or a URL.
class ParquetSource : public RecordSource {
 public:
  ParquetSource(std::filesystem::path file, std::string memory_limit);
  ~ParquetSource() override;

  Status ReadHeader(std::vector<std::string>& names) override;
  SourceStatus Next(SourceRecord& record, std::string& why) override;
  Error failure() const override;
  bool Stable(std::string_view view) const override;
  void Release() override;

  // The DuckDB data chunks held: the current one and those read since the last Release. For tests.
  size_t held_chunks() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dimstream
