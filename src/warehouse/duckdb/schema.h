#pragma once

#include <string>
#include <vector>

#include "warehouse/duckdb/database_keeper.h"
#include "warehouse/duckdb/entity_tables.h"

namespace dimstream::duck {

// Creates what is missing of the warehouse's schema for `entities`: their tables, as_of macros and lineage
// views, and the shared load_history, parameter_control and task_history. Writes nothing when the schema is
// already this one (a fingerprint of the DDL is kept as the comment of load_history), so that opening works
// on a full disk. A table that exists with other columns than this version and declaration give it is
// refused (kInvalidInput) with the table, the column and what to do, and nothing is changed.
Status EnsureSchema(const Connected& c, DatabaseKeeper& keeper,
                    const std::vector<const EntityTables*>& entities, const std::string& where);

}  // namespace dimstream::duck
