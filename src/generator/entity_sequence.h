#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/types.h"
#include "common/value_type.h"
#include "generator/random.h"

namespace dimstream {

struct EntitySpec;

// One sequence before it is written: the first column's value `n` on the plan's integer scale (see
// SequencePlan), the row's position in its transaction, and the stream's clock (for a timestamp column
// after the first).
struct SeqPoint {
  int64_t n = 0;
  uint32_t pos = 1;
  Micros clock = 0;
};

// The sequence columns of a declared entity and how their values advance (SEMANTICS.md sections 1 and 4).
//
// The first column carries the order. Its values are integers n on a scale of the column's type (micro-
// seconds from --start-time for a timestamp, days for a date, units of the last digit for a decimal...),
// and rows come in small "transactions" that share one n: a timestamp alone steps 1 ms to 2 s a row like
// the customer generator's updated_at, a bigint counts like a log sequence number that a few rows of
// different keys share, a date moves a day at a time. With more columns the second holds the position in
// the transaction (so one key may appear twice in it, in order), and any further ones the same position
// (or the stream's clock, for a timestamp). A key never meets itself twice at one sequence: with one
// column, a transaction ends before a key would repeat in it.
//
// Regular values are multiples of a grid (1 ms, 100 units); late rows use the values between: the k-th
// late row of a key lands grid cells before the key's latest row plus k, so it matches no earlier sequence
// of that key. When a key has used every value between (or the type has none, like a date) its late rows go
// below its lowest sequence instead. Truncates take a value after every earlier row, alone in their
// transaction. Owns its position and the truncates' values; EntityStream owns one and calls it on its
// caller's thread with its Rng.
class SequencePlan {
 public:
  // kInvalidInput when the first sequence column is a boolean, which cannot order more than two records.
  static Result<SequencePlan> Make(const EntitySpec& entity, Micros start);

  bool empty() const { return columns_.empty(); }
  size_t size() const { return columns_.size(); }
  const ColumnType& type(size_t i) const { return columns_[i].type; }

  // The next value for a row of a key whose latest sequence is *key_latest (null for a new key).
  // kInvalidInput when the first column has no value left (a narrow decimal, the year 9999).
  Result<SeqPoint> Next(Rng& rng, const int64_t* key_latest);
  // A value after every earlier one, alone in its transaction: for truncate records.
  Result<SeqPoint> Alone(Rng& rng);
  // The value a row would take now, without taking it: for rows the loader rejects.
  SeqPoint Current() const;
  // A value before `latest` that no earlier row of the key had, given the key's lowest sequence `low` and
  // its count of late rows (both updated); nullopt when the type leaves no room (below zero for a counter).
  std::optional<int64_t> Late(Rng& rng, int64_t latest, int64_t& low, uint16_t& late_count);

  // Appends one field per sequence column. `style`: see AppendTimestamp.
  void Render(const SeqPoint& p, Rng* style, std::vector<std::string>& fields) const;
  // A field the loader must reject for sequence column `i`: empty, or not of its type.
  std::string Bad(Rng& rng, size_t i, const std::string& good) const;

 private:
  struct Column {
    std::string name;
    ColumnType type;
  };

  Status Advance(Rng& rng);

  std::vector<Column> columns_;
  Micros start_ = 0;
  int64_t origin_ = 0;         // the value that n = 0 stands for, in the type's units
  int64_t grid_ = 1;           // regular values are multiples of it
  uint64_t max_step_ = 1;      // a new transaction moves 1..max_step grid cells
  uint64_t tx_max_ = 1;        // rows in a transaction: 1..tx_max
  uint64_t late_cells_ = 1;    // a late row goes back 1..late_cells grid cells
  int64_t first_n_ = 0;        // n of the first row
  int64_t floor_ = 0;          // lowest n allowed
  int64_t ceiling_ = 0;        // highest n allowed
  bool repeat_in_tx_ = false;  // a key may appear twice in a transaction (ordered by the second column)
  bool has_clock_ = false;     // a timestamp column after the first

  bool started_ = false;
  int64_t cell_ = 0;
  uint32_t pos_ = 0;
  uint64_t tx_left_ = 0;
  Micros clock_ = 0;
  uint64_t issued_ = 0;
  std::set<int64_t> truncates_;  // n of every truncate record: no late row may take one
};

}  // namespace dimstream
