#pragma once

#include <memory>

#include "warehouse/duckdb/database_keeper.h"
#include "warehouse/duckdb/entity_tables.h"
#include "warehouse/merge_session.h"

namespace dimstream::duck {

// A merge run's transaction on one entity's tables (see MergeSession). Created by DuckDbWarehouse::BeginMerge
// on a connection of its own, used from one thread; rolled back on destruction unless Finish committed it.
Result<std::unique_ptr<MergeSession>> NewMergeSession(Connected c, DatabaseKeeper& keeper,
                                                      const EntityTables& tables);

// Records a merge run in task_history (inside `conn`'s open transaction).
Status InsertTask(Connection& conn, const TaskRecord& task);

}  // namespace dimstream::duck
