#pragma once

#include <duckdb.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "config/entity.h"
#include "warehouse/duckdb/database_keeper.h"
#include "warehouse/duckdb/duckdb_handles.h"
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

// Adapter: the warehouse in one DuckDB file. Owns the database handle and the schema of one entity;
// opens a connection per operation, so any thread may call it. After a failed commit the database is
// opened again from disk (see DatabaseKeeper). Loads are serialized by a mutex so that
// load ids (the first part of every arrival position) follow commit order.
class DuckDbWarehouse : public Warehouse {
 public:
  // Opens (creating if needed) the file and the schema. kRetryable when another process holds the file.
  static Result<std::unique_ptr<DuckDbWarehouse>> Open(const DuckDbOptions& options,
                                                       const EntitySpec& entity);
  ~DuckDbWarehouse() override;

  Result<bool> HasVersion(const ObjectKey& key, const std::string& version_tag) override;
  Result<bool> HasLoad(const ObjectKey& key, const Checksum& checksum) override;
  Result<LoadReceipt> CommitLoad(const LoadRequest& request) override;
  Result<std::unique_ptr<MergeSession>> BeginMerge() override;
  Status RecordTask(const TaskRecord& task) override;
  Result<QueryResult> Query(const std::string& sql) override;
  Status Checkpoint() override;
  std::string Describe() const override;

  const EntitySpec& entity() const { return entity_; }
  // How many times the database instance was replaced by a fresh one from disk after a failed commit.
  uint64_t Reopens() const;

 private:
  // How long a reopen waits for operations still using the retired instance.
  static constexpr std::chrono::milliseconds kReopenWait{60000};

  DuckDbWarehouse(DuckDbOptions options, EntitySpec entity);
  static Result<duckdb_database> OpenDatabase(const DuckDbOptions& options);
  Status CreateSchema();
  Result<bool> HasLoadWhere(const char* column, const std::string& value, const ObjectKey& key);
  Status AppendRaw(duck::Connection& conn, const LoadRequest& request, int64_t load_id, int64_t arrival_base,
                   Micros loaded_at, Micros sequence_time);

  DuckDbOptions options_;
  EntitySpec entity_;
  std::mutex load_mu_;
  std::unique_ptr<duck::DatabaseKeeper> keeper_;
};

}  // namespace dimstream
