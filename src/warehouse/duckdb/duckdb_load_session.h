#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "warehouse/duckdb/database_keeper.h"
#include "warehouse/duckdb/entity_tables.h"
#include "warehouse/warehouse.h"

namespace dimstream::duck {

// Opens one load's transaction on `c` while holding `lock` (one load at a time per warehouse, so that load
// ids follow commit order): assigns the load id and the load's sequence time. `tables` is null for an
// object that matched no entity.
Result<std::unique_ptr<LoadSession>> NewLoadSession(Connected c, DatabaseKeeper& keeper,
                                                    std::unique_lock<std::mutex> lock,
                                                    const EntityTables* tables, const ObjectInfo& object);

}  // namespace dimstream::duck
