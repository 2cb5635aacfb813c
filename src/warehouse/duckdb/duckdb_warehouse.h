#pragma once

#include <duckdb.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/entity.h"
#include "warehouse/duckdb/database_keeper.h"
#include "warehouse/duckdb/duckdb_handles.h"
#include "warehouse/duckdb/entity_tables.h"
#include "warehouse/warehouse.h"

namespace dimstream {

struct DuckDbOptions {
  std::filesystem::path path;
  uint64_t threads = 0;      // 0: DuckDB's default
  std::string memory_limit;  // empty: DuckDB's default
  // WAL size at which DuckDB checkpoints by itself, e.g. "1GB" (empty: DuckDB's default, 16MB). Larger
  // keeps checkpoints out of merge runs: the merge checkpoints when it is idle (Warehouse::Checkpoint).
  std::string checkpoint_threshold;
  bool read_only = false;
};

// Adapter: the warehouse in one DuckDB file. Owns the database handle and the schema of every declared
// entity (their tables side by side, load_history, parameter_control and task_history shared); opens a
// connection per operation, so any thread may call it. After a failed commit the database is opened again
// from disk (see DatabaseKeeper). Loads are serialized by a mutex so that load ids (the first part of every
// arrival position) follow commit order.
class DuckDbWarehouse : public Warehouse {
 public:
  // Opens (creating if needed) the file and the schema. kRetryable when another process holds the file;
  // kInvalidInput when the file holds tables of another shape (an earlier version, or the entity declared
  // otherwise), naming the table and the column.
  static Result<std::unique_ptr<DuckDbWarehouse>> Open(const DuckDbOptions& options,
                                                       std::vector<EntitySpec> entities);
  static Result<std::unique_ptr<DuckDbWarehouse>> Open(const DuckDbOptions& options,
                                                       const EntitySpec& entity) {
    return Open(options, std::vector<EntitySpec>{entity});
  }
  ~DuckDbWarehouse() override;

  Result<bool> HasVersion(const ObjectKey& key, const std::string& version_tag) override;
  Result<bool> HasLoad(const ObjectKey& key, const Checksum& checksum) override;
  Result<std::unique_ptr<LoadSession>> BeginLoad(const ObjectInfo& object,
                                                 const std::string& entity) override;
  Result<std::unique_ptr<MergeSession>> BeginMerge(const std::string& entity) override;
  Status RecordTask(const TaskRecord& task) override;
  Result<QueryResult> Query(const std::string& sql) override;
  // In a READ ONLY transaction (duck::ReadOnlyQueryAsText); an EXPLAIN only of a SELECT.
  Result<QueryResult> QueryReadOnly(const std::string& sql) override;
  Result<ExportReceipt> Export(const ExportRequest& request) override;
  Status Checkpoint() override;
  std::string Describe() const override;

  // How many times the database instance was replaced by a fresh one from disk after a failed commit.
  uint64_t Reopens() const;

 private:
  // How long a reopen waits for operations still using the retired instance.
  static constexpr std::chrono::milliseconds kReopenWait{60000};

  // One entity's declaration and its tables (EntityTables refers to the declaration).
  struct Entity {
    explicit Entity(EntitySpec e) : spec(std::move(e)), tables(spec) {}
    EntitySpec spec;
    duck::EntityTables tables;
  };

  DuckDbWarehouse(DuckDbOptions options, std::vector<EntitySpec> entities);
  static Result<duckdb_database> OpenDatabase(const DuckDbOptions& options);
  Status CreateSchema();
  const Entity* Find(const std::string& name) const;
  Result<bool> HasLoadWhere(const char* column, const std::string& value, const ObjectKey& key);

  DuckDbOptions options_;
  std::vector<std::unique_ptr<Entity>> entities_;
  std::mutex load_mu_;
  std::unique_ptr<duck::DatabaseKeeper> keeper_;
};

}  // namespace dimstream
