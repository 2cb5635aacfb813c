#pragma once

#include <span>
#include <vector>

#include "config/entity.h"
#include "merge/key_index.h"
#include "warehouse/warehouse.h"

namespace dimstream {

// The dimension as a pure function of the records (SEMANTICS.md section 5). `records` are one key's
// retained records ordered by (sequence, arrival); the versions it opens are appended to `out`.
// Records sharing a sequence: the last arrival wins, the others leave no trace. `scd1_count` says how
// many leading attributes are SCD Type 1; the rest are SCD Type 2.
void FoldKey(const std::vector<LogRecord>& records, size_t scd1_count, std::vector<Version>& out);

// What FoldOnto did to a key.
struct FoldStep {
  std::optional<VersionClose> closed;  // the previously open version, closed as it was
  bool rewrote_open = false;  // the previously open version's row is replaced by the first version of `out`
  KeyState next;              // the key's state after the records
};

// The same fold continued from `state` (nullptr: a key without records) with staged records that are all
// newer than state->last_seq, ordered by (sequence, arrival): what FoldKey of all the key's records would
// give, without reading the older ones. Works on the records' hashes: appends the versions it opens or
// rewrites to `out` with empty attributes (a version's values are those of its record `updated_arrival`).
FoldStep FoldOnto(int64_t key, const KeyState* state, const std::vector<StagedRecord>& records,
                  std::vector<Version>& out);

// The state a key is in after FoldKey gave `versions` (its versions, in order) for records up to `last_seq`.
KeyState StateAfter(std::span<const Version> versions, Micros last_seq);

}  // namespace dimstream
