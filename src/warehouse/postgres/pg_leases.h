#pragma once

#include <chrono>
#include <string>

#include "common/error.h"
#include "warehouse/postgres/pg_connection.h"
#include "warehouse/warehouse.h"

// Several processes on one PostgreSQL warehouse: leases (one holder at a time, for a time, taken over once
// it expires) in `leases`, heartbeats in `process_heartbeats`, and the view `processes` that lists each
// process with its last beat and the leases it holds (what `status` shows). Every time is the server's
// clock, so that processes on machines whose clocks differ agree.
namespace dimstream::pg {

// Creates the tables and the view when they are not there and forgets processes silent for a day, in the
// caller's transaction (InSchemaTransaction).
Status CreateProcessTables(PgConnection& conn);

// Warehouse::HoldLease, ReleaseLease and Beat on `conn`, each a transaction of its own.
Result<bool> HoldLease(PgConnection& conn, const std::string& name, const std::string& holder,
                       std::chrono::milliseconds ttl, std::string* previous);
Status ReleaseLease(PgConnection& conn, const std::string& name, const std::string& holder);
Status Beat(PgConnection& conn, const ProcessBeat& beat);

}  // namespace dimstream::pg
