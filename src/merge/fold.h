#pragma once

#include <optional>
#include <span>
#include <vector>

#include "config/entity.h"
#include "merge/key_index.h"
#include "warehouse/merge_session.h"

namespace dimstream {

// The dimension as a pure function of the records (SEMANTICS.md sections 4 and 5), on records' sequences,
// operations and hashes (the values stay in the warehouse; a version names the records it takes them from).
//
// A truncate record counts as a record of every key: the fold of a key takes its own records and every
// truncate, ordered by (sequence, arrival). Where two of them share a sequence, the later arrival wins and
// the earlier one leaves no trace.

// `records` are one key's records, `truncates` every truncate record, each ordered by (sequence, arrival).
// Appends the key's versions, in order, to `out`.
void FoldKey(const std::vector<MergeRecord>& records, const std::vector<MergeRecord>& truncates,
             Scd1Scope scope, std::vector<Version>& out);

// What FoldOnto did to a key.
struct FoldStep {
  std::optional<OpenVersionEdit> edit;  // what happened to the version open before (closed, or rewritten)
  bool rewrote_open = false;  // the version open before is replaced by the first version FoldOnto appended
  KeyState next;              // the key id's state after the records
  int64_t latest_upsert = 0;  // the arrival of the last upsert that took effect (0: none)
};

// The same fold continued from `state` (nullptr: a key id without records) with `records` of one key that are
// all newer than every retained record of the key and every truncate merged before, and the `truncates` of
// this run: what FoldKey of all the key's records would give, without reading the older ones. Appends the
// versions it opens or rewrites to `out` (a rewritten version has no valid_from: the warehouse keeps the old
// one). `ref_arrival` of the edit is the key's first record.
FoldStep FoldOnto(uint64_t key_id, const KeyState* state, std::span<const MergeRecord> records,
                  const std::vector<MergeRecord>& truncates, Scd1Scope scope, std::vector<Version>& out);

// The state a key is in after FoldKey gave `versions` (its versions, in order) for records whose newest
// sequence has the floor `last_seq`.
KeyState StateAfter(std::span<const Version> versions, uint64_t last_seq);

}  // namespace dimstream
