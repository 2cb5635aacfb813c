#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/entity.h"
#include "warehouse/postgres/pg_pool.h"
#include "warehouse/warehouse.h"

namespace dimstream {

// Adapter: the warehouse in a PostgreSQL database (libpq). Owns a pool of connections to it and the schema
// of every declared entity (their tables side by side; load_history, parameter_control and task_history
// shared). Thread-safe: each operation takes a connection of the pool for itself. Unlike DuckDB, loads run
// at the same time, from any number of threads and processes (the load ledger orders their ids by commit,
// pg_load_ledger.h), a merge run of an entity waits for another's end (pg_merge_session.h), and any
// PostgreSQL client reads the tables while all of that runs.
class PgWarehouse : public Warehouse {
 public:
  // Connects to `url` (libpq's postgresql:// URL, no password in it) with `password` (empty: none, or
  // libpq's .pgpass) and creates the schema where it is missing, safely while other processes do the same.
  // kRetryable when the server cannot be reached, kPermanent when it refuses the login.
  static Result<std::unique_ptr<PgWarehouse>> Open(const std::string& url, const std::string& password,
                                                   std::vector<EntitySpec> entities);
  // Runs `sql` (Query) on a connection of its own, closed after it, without touching the schema: what a
  // process that holds no warehouse does for `sql`, `status` and `check`. Creating the schema would take
  // locks that a merge run in progress holds.
  static Result<QueryResult> QueryOnce(const std::string& url, const std::string& password,
                                       const std::string& sql);

  Result<bool> HasVersion(const ObjectKey& key, const std::string& version_tag) override;
  Result<bool> HasLoad(const ObjectKey& key, const Checksum& checksum) override;
  Result<std::unique_ptr<LoadSession>> BeginLoad(const ObjectInfo& object,
                                                 const std::string& entity) override;
  Result<std::unique_ptr<MergeSession>> BeginMerge(const std::string& entity) override;
  Status RecordTask(const TaskRecord& task) override;
  // The statement's (or the last statement's) rows, every value as PostgreSQL's text but booleans, which
  // read "true" and "false" as DuckDB's do; a statement that returns no rows (CREATE) gives no columns.
  Result<QueryResult> Query(const std::string& sql) override;
  // On a connection of its own, closed after it, in a READ ONLY transaction rolled back after it, through
  // the extended protocol (which refuses several statements in one text). A statement whose first word is
  // not SELECT, WITH, VALUES, TABLE or EXPLAIN is refused before it reaches the server; what the server
  // refuses in a read-only transaction (a WITH that deletes, EXPLAIN ANALYZE of an INSERT, nextval) is
  // kInvalidInput.
  Result<QueryResult> QueryReadOnly(const std::string& sql) override;
  Result<ExportReceipt> Export(const ExportRequest& request) override;
  // PostgreSQL checkpoints by itself.
  Status Checkpoint() override { return Ok(); }
  // "PostgreSQL postgresql://dim@host:5432/db" (the URL holds no password).
  std::string Describe() const override;
  // In the tables `leases` and `process_heartbeats`, by the server's clock (pg_leases.h).
  Result<bool> HoldLease(const std::string& name, const std::string& holder, std::chrono::milliseconds ttl,
                         std::string* previous = nullptr) override;
  Status ReleaseLease(const std::string& name, const std::string& holder) override;
  Status Beat(const ProcessBeat& beat) override;

 private:
  PgWarehouse(const std::string& url, const std::string& password, std::vector<EntitySpec> entities)
      : pool_(url, password), entities_(std::move(entities)) {}
  Status CreateSchema();
  const EntitySpec* Find(const std::string& name) const;
  Result<bool> HasLoadWhere(const char* column, const std::string& value, const ObjectKey& key);

  pg::PgPool pool_;
  std::vector<EntitySpec> entities_;
};

}  // namespace dimstream
