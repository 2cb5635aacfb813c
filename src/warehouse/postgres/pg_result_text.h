#pragma once

#include "warehouse/postgres/pg_connection.h"
#include "warehouse/warehouse.h"

namespace dimstream::pg {

// A result's rows as the port's QueryResult: every value as text, booleans as DuckDB shows them ("true",
// "false", not 't' and 'f'), so that output and tests read the same on both warehouses.
QueryResult AsText(const PgResult& r);

}  // namespace dimstream::pg
