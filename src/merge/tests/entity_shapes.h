// The entity property test's random entity declarations: 1-3 key columns of random types; 0-3 SCD1 and
// 0-3 SCD2 attributes of random types; a sequence of no column (load commit order), one timestamp column
// (files may lack it: load-time fallback), one column of another type or two columns; an operation column
// with value lists in the shapes real sources use (I/U/D, words, Debezium letters, digits; sometimes a
// truncate value; sometimes "" is no upsert) or none; scd1_scope current or all_versions; sometimes
// key_id_bits 1-3, so that keys collide in the merge's key index.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "config/entity.h"
#include "merge/tests/entity_values.h"
#include "merge/tests/property_support.h"

namespace dimstream::property::declared {

struct Column {
  std::string name;
  Type type;
};

struct Shape {
  std::string name;
  std::vector<Column> keys;
  std::vector<Column> scd1;
  std::vector<Column> scd2;
  std::vector<Column> seq;
  std::string op;  // empty: no operation column
  std::vector<std::string> deletes;
  std::vector<std::string> upserts;
  std::vector<std::string> truncates;
  bool all_versions = false;
  unsigned key_id_bits = 64;
  std::string seq_mode;  // for the coverage table
  std::string op_style;  // for the coverage table

  size_t attrs() const { return scd1.size() + scd2.size(); }
  const Column& attr(size_t a) const { return a < scd1.size() ? scd1[a] : scd2[a - scd1.size()]; }
  // A file without the sequence takes its load's commit time: a single timestamp sequence, or none.
  bool falls_back() const { return seq.empty() || (seq.size() == 1 && seq[0].type.kind == Kind::kTimestamp); }
  // The types of valid_from (and valid_from_<col>...): the load's commit time when there is no sequence.
  std::vector<Type> seq_types() const;
  bool empty_upsert() const { return std::find(upserts.begin(), upserts.end(), "") != upserts.end(); }

  EntitySpec Spec() const;
  // As a configuration file declares it, and as a behaviour case (cases/*.case) takes it.
  std::string Toml() const;
};

Shape RandomShape(Rng& rng);

// Whether `v` is one of the shape's operation values, as they compare (SEMANTICS.md section 1).
bool IsOperation(const Shape& shape, const std::string& v);

}  // namespace dimstream::property::declared
