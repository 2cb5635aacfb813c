#pragma once

#include "common/types.h"
#include "warehouse/duckdb/duckdb_handles.h"
#include "warehouse/duckdb/entity_tables.h"
#include "warehouse/load_request.h"

namespace dimstream::duck {

// Where one load's rows go: its id, the arrival position of its line 0 (load id << 32), its commit time and
// the sequence of rows whose file has no sequence columns.
struct LoadStamp {
  int64_t load_id = 0;
  int64_t arrival_base = 0;
  Micros loaded_at = 0;
  Micros sequence_time = 0;
};

// Appends a batch of a load's accepted rows to the entity's log (what its raw view shows until merged),
// typed, a data chunk at a time, inside `conn`'s open transaction; its rejected rows to the rejects table.
Status AppendRaw(Connection& conn, const EntityTables& tables, const std::string& object_key,
                 const RawRows& rows, const LoadStamp& stamp);
Status AppendRejects(Connection& conn, const EntityTables& tables, const std::string& object_key,
                     const std::vector<RejectedRow>& rejects, const LoadStamp& stamp);

}  // namespace dimstream::duck
