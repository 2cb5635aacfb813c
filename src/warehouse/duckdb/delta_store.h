#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "warehouse/duckdb/duckdb_handles.h"
#include "warehouse/duckdb/entity_tables.h"
#include "warehouse/merge_session.h"

namespace dimstream::duck {

// The delta of an entity with merge on read (entity_tables.h): what a merge run appends instead of rewriting
// history and current, and the compaction that moves it into their base tables. Used by the merge session
// on its connection, inside its transaction.
class DeltaStore {
 public:
  DeltaStore(Connection& conn, const EntityTables& tables) : conn_(conn), t_(tables) {}

  // The run's versions and edits (VersionWriter's kIncrement and kEdits, closed) as delta rows, replacing the
  // delta rows of the same versions. Where key ids are hashes, first checks that each edited version is one
  // of the edit's key (see MergeSession::ApplyIncrement) and returns the key ids of those that are not,
  // changing nothing. With `opened_to_base`, the versions the run opened go into the base tables instead.
  Result<std::vector<uint64_t>> AppendRun(bool opened_to_base);
  // Moves up to `max_rows` delta rows of `kind` (0: all) into the base tables. Returns how many it moved.
  Result<uint64_t> Compact(uint64_t max_rows, DeltaRows kind);
  Result<DeltaSize> Size();
  // Drops the delta rows of the key ids `condition` selects (a condition on column kid, with its lead
  // keyword: " WHERE kid IN (...)"; empty: every row): their versions are about to be written again.
  Status Drop(const std::string& condition);

 private:
  Connection& conn_;
  const EntityTables& t_;
};

}  // namespace dimstream::duck
