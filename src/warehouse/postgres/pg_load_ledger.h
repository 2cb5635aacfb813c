#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/error.h"
#include "object_store/object_store.h"
#include "warehouse/load_request.h"
#include "warehouse/postgres/pg_connection.h"

// load_history on PostgreSQL, where several loaders commit at once: exactly once per object key and checksum,
// and load ids (the high half of every arrival position, what the merge's watermark compares) that follow
// commit order.
//
// A load id taken from a sequence inside each transaction would not: a load that begins first and commits
// last holds the lower number, and a watermark that passed the higher one would skip it for ever (the
// seed's LETS bug). So a load's rows carry a `load_ref` taken when it begins, in no order, and its load id
// is taken last, from the one row of load_position, whose row lock the load then holds until it commits: the
// next load to take one waits for that commit, so a load id is never committed before a lower one. The lock
// is held only for the two statements before COMMIT, so loads still copy their rows at the same time.
namespace dimstream::pg {

// Runs `create` (CREATE ... IF NOT EXISTS statements) in one transaction on `conn` that holds the schema's
// advisory lock, and commits it (rolls it back on failure): two processes creating the same tables at once
// would otherwise collide on the catalog's unique indexes (a unique violation on pg_type).
Status InSchemaTransaction(PgConnection& conn, const std::function<Status()>& create);

// Creates the ledger's tables when they are not there, in the caller's transaction (InSchemaTransaction).
Status CreateLedgerTables(PgConnection& conn);

// Creates the ledger's tables when they are not there (idempotent, safe from several processes at once).
inline Status EnsureLedgerSchema(PgConnection& conn) {
  return InSchemaTransaction(conn, [&] { return CreateLedgerTables(conn); });
}

// Begins a load's transaction on `conn` and returns its load_ref, for its rows.
Result<int64_t> BeginLoadTransaction(PgConnection& conn);

// What load_history records of one load.
struct LoadRecord {
  ObjectInfo object;
  std::string entity;  // empty: the object matched no entity
  LoadSummary summary;
};

// Records the load in its transaction and commits it, its load id taken last (above). kAlreadyDone, the
// transaction rolled back, when this key and checksum were loaded or failed before, or by a loader that
// raced this one and committed first (its insert waits for that one's commit, then finds its row).
Result<LoadReceipt> CommitLoadRecord(PgConnection& conn, int64_t load_ref, const LoadRecord& record);

}  // namespace dimstream::pg
