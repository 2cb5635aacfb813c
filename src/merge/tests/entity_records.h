// The entity property test's cases: an entity shape, the grid its sequence values come from, and random
// records over 1-6 keys (what a file row means, independent of how it is written): SCD1 and SCD2 changes,
// NULLs, exact duplicates, deletes, re-inserts, late records, ties, truncates in order, tied and late.
#pragma once

#include <string>
#include <vector>

#include "merge/tests/entity_shapes.h"
#include "merge/tests/entity_values.h"
#include "merge/tests/property_support.h"

namespace dimstream::property::declared {

// The sequence: record t of a key gets the sequence value At(t), increasing in t.
struct SeqGrid {
  struct Axis {
    Int128 base = 0;
    Int128 step = 1;
    std::vector<std::string> texts;  // a text column: sorted, distinct
  };
  std::vector<Axis> axes;
  int split = 1;  // two columns: t -> (t / split, t % split), so that the first column ties now and then
  std::string time_mode;

  std::vector<Val> At(int t) const;
};

constexpr int kMaxT = 260;  // no record's t goes beyond (see MakeCase)

enum class Op { kUpsert, kDelete, kTruncate };

struct Record {
  int key = -1;  // index into Case::keys; -1 for a truncate
  Op op = Op::kUpsert;
  std::vector<Cell> attrs;  // SCD1 then SCD2
  int t = 0;                // the sequence is grid.At(t)
};

struct Case {
  Shape shape;
  SeqGrid grid;
  std::vector<std::vector<Val>> keys;  // distinct typed tuples
  std::vector<Record> records;
};

// A random shape, its grid and its records.
Case MakeCase(Rng& rng);

// The case in a few lines and its entity as a behaviour case's [entity] section, for a failure message.
std::string DescribeCase(const Case& c);

}  // namespace dimstream::property::declared
