#pragma once

#include <memory>

#include "config/entity.h"
#include "warehouse/merge_session.h"
#include "warehouse/postgres/pg_pool.h"

// A merge run on PostgreSQL: one transaction on a connection of its own, from staging to the advanced
// watermark. No merge on read: a run writes history and current itself (indexed by key id and opener), so
// CompactDelta has nothing to move.
namespace dimstream::pg {

// Creates the entity's history and current tables and their indexes when they are not there.
// `<entity>_history`: the keys, the attributes, valid_from (+ valid_from_<column>), valid_to
// (+ valid_to_<column>), is_current, _ended_by_delete, _opened_arrival, _updated_arrival, _scd1_hash,
// _scd2_hash, _kid. `<entity>_current`: the same without valid_to, is_current and _ended_by_delete.
Status EnsureVersionTables(PgConnection& conn, const EntitySpec& entity);

// Begins a merge run's transaction on `conn`, which the session uses alone until it is destroyed (a session
// not finished is rolled back).
Result<std::unique_ptr<MergeSession>> BeginPgMerge(PgPool::Lease conn, const EntitySpec& entity);

}  // namespace dimstream::pg
