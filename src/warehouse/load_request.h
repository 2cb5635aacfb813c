#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/typed_value.h"
#include "common/types.h"
#include "config/entity.h"
#include "object_store/object_store.h"

// What one load hands the warehouse: an object's accepted rows, typed, and its rejected rows with reasons.
namespace dimstream {

// One column of a load's accepted rows, typed as the entity declares it. A row's value sits in the vector
// its type uses (see Datum); the others stay empty. Text values view memory the request's owner keeps.
struct TypedColumn {
  ColumnType type;
  std::vector<uint8_t> valid;  // [row]: 0 is NULL
  std::vector<int64_t> ints;   // bigint, boolean, date, timestamp, decimal of at most 18 digits
  std::vector<Int128> wides;   // decimal of more than 18 digits
  std::vector<double> doubles;
  std::vector<std::string_view> texts;

  explicit TypedColumn(ColumnType t = {}) : type(t) {}
  size_t size() const { return valid.size(); }
  void Append(const Datum& d);
  void AppendNull();
};

// The accepted rows of one object, column by column, ready for the raw table.
struct RawRows {
  std::vector<TypedColumn> columns;  // EntitySpec::input_columns() order; a column the file lacks is NULL
  std::vector<Operation> op;         // [row]
  std::vector<uint64_t> line;        // [row]: where the record starts (the header is line 1)
  // [row]: the key id the merge's key index uses (the key itself for one bigint column, else a 64-bit hash
  // of the key's ordered encoding); 0 for a truncate record, whose key is not read.
  std::vector<uint64_t> key_id;
  // The rows' sequences as ordered encodings (common/typed_value.h), one after the other; empty when the
  // file has no sequence columns and every row takes its load's commit time.
  std::string seq_keys;
  std::vector<uint64_t> seq_key_end;  // [row]: end of the row's encoding in seq_keys
  std::vector<uint64_t> scd1_hash;    // [row]: NULL-safe hash of the SCD1 values
  std::vector<uint64_t> scd2_hash;    // [row]: NULL-safe hash of the SCD2 values
  bool has_sequence = true;           // false: the load's commit time is every row's sequence

  size_t size() const { return line.size(); }
  std::string_view SeqKey(size_t row) const;
  // No rows, the columns and their types kept (and the vectors' capacity, for the next batch).
  void Clear();
};

struct RejectedRow {
  uint64_t line = 0;
  std::string raw;
  std::string reason;
};

// Everything one load commits, in one transaction.
struct LoadRequest {
  ObjectInfo object;
  Checksum checksum;
  std::string entity;   // the entity the object was routed to; empty when it matched none (then failed)
  bool failed = false;  // the object as a whole was rejected; `error` says why
  std::string error;
  RawRows rows;
  std::vector<RejectedRow> rejects;
  uint64_t ignored_columns = 0;  // columns of the file the entity does not declare (load_history counts them)
  std::string format;
  uint64_t uncompressed_size = 0;
};

// How a load ends, once its rows and rejects are in (LoadSession::Commit).
struct LoadSummary {
  Checksum checksum;   // of the object's bytes as stored (compressed, when it is)
  uint64_t size = 0;   // the object's bytes as stored
  std::string format;  // how it was read: "csv", "csv.gz", "jsonl.zst", "parquet", ...; empty: not known
  uint64_t uncompressed_size = 0;  // bytes after decompression (the size itself when not compressed)
  bool failed = false;  // the object as a whole was rejected; `error` says why, and no rows are kept
  std::string error;
  uint64_t rows = 0;     // rows appended (0 when failed)
  uint64_t rejects = 0;  // rejects appended
  uint64_t ignored_columns = 0;
};

enum class LoadOutcome { kLoaded, kFailed, kAlreadyDone };

struct LoadReceipt {
  LoadOutcome outcome = LoadOutcome::kLoaded;
  int64_t load_id = 0;
};

}  // namespace dimstream
