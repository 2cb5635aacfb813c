#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/types.h"
#include "common/value_type.h"
#include "generator/random.h"

namespace dimstream {

struct EntitySpec;

// Turns a key's creation offset (0, 1, 2, ...) into the text of its key columns, so that the stream stores
// no key text at all: every offset gives another key, and the same offset always the same one.
//
// One key column: bigint keys count up from --first-key; text keys look like real ones, in a shape chosen
// per entity from its name (or the column's: "uuid", "sku", "code"): UUIDs (8-4-4-4-12 hex, version 4),
// SKUs ("SKU-004211") or short codes ("7KQ2ZD"); dates count days and timestamps seconds from --start-time;
// decimals and doubles count like bigints; a boolean has two keys. Several key columns: one of them (the
// first bigint, else the first text column, whose name is not a category like tenant, region or line) counts
// as above, and the others take a few values each (a tenant from a small set, line numbers 1..n), the
// offset being split across them in mixed radix. Read-only after construction; EntityStream owns one.
class KeyFaker {
 public:
  KeyFaker(const EntitySpec& entity, uint64_t first_key, Micros start);

  size_t size() const { return columns_.size(); }
  const ColumnType& type(size_t j) const { return columns_[j].type; }
  const std::string& name(size_t j) const { return columns_[j].name; }
  // How many distinct keys the columns can hold (saturating at 2^63); 0 when --first-key leaves no room.
  uint64_t capacity() const { return capacity_; }

  // Appends the key fields of the key created `offset`-th (< capacity()). `style`: an Rng to spell a typed
  // key another way now and then (1.50 for 1.5), or null for the canonical spelling.
  void Render(uint64_t offset, Rng* style, std::vector<std::string>& fields) const;

 private:
  enum class Shape : uint8_t { kNumber, kUuid, kSku, kCode, kSmallSet, kDays, kSeconds, kBoolean };
  struct Column {
    std::string name;
    ColumnType type;
    Shape shape = Shape::kNumber;
    bool main = false;
    uint64_t radix = 1;  // values a non-main column takes
    uint64_t salt = 0;
    const std::vector<std::string>* set = nullptr;  // kSmallSet text: the values
    std::string prefix;                             // kSku
  };

  void RenderOne(const Column& c, uint64_t n, Rng* style, std::string& out) const;

  std::vector<Column> columns_;
  uint64_t first_key_;
  Micros start_;
  uint64_t capacity_ = 0;
};

}  // namespace dimstream
