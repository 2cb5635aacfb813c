#include "warehouse/duckdb/duckdb_warehouse.h"

#include <fmt/format.h>

#include "common/clock.h"
#include "common/fault.h"
#include "warehouse/duckdb/duckdb_export.h"
#include "warehouse/duckdb/duckdb_load_session.h"
#include "warehouse/duckdb/duckdb_merge_session.h"
#include "warehouse/duckdb/query_text.h"
#include "warehouse/duckdb/schema.h"
#include "warehouse/sql.h"

namespace dimstream {
namespace {

using duck::ChunkReader;
using duck::Connection;
using duck::DatabaseKeeper;
using duck::Param;
using duck::QueryResultHandle;
using duck::Timestamp;

constexpr const char* kLoadHistory = "load_history";

// Runs `sql` by `run` (duck::QueryAsText and the like) on a connection of its own; retires the instance
// when the failure may have left it unusable.
Result<QueryResult> QueryOn(DatabaseKeeper& keeper, const std::string& sql,
                            Result<QueryResult> (*run)(duckdb_connection, const std::string&)) {
  auto connected = keeper.Connect();
  if (!connected.ok()) {
    return connected.error();
  }
  auto r = run(connected->conn->get(), sql);
  if (!r.ok() && duck::LeavesInstanceUnusable(r.error().message)) {
    keeper.Retire(*connected->db, r.error().message);
  }
  return r;
}

}  // namespace

DuckDbWarehouse::DuckDbWarehouse(DuckDbOptions options, std::vector<EntitySpec> entities)
    : options_(std::move(options)),
      keeper_(std::make_unique<DatabaseKeeper>([o = options_] { return OpenDatabase(o); }, kReopenWait)) {
  for (auto& e : entities) {
    entities_.push_back(std::make_unique<Entity>(std::move(e)));
  }
}

DuckDbWarehouse::~DuckDbWarehouse() = default;

Result<std::unique_ptr<DuckDbWarehouse>> DuckDbWarehouse::Open(const DuckDbOptions& options,
                                                               std::vector<EntitySpec> entities) {
  for (const auto& e : entities) {
    DIMSTREAM_TRY(e.Validate());
  }
  std::error_code ec;
  if (!options.read_only && options.path.has_parent_path()) {
    std::filesystem::create_directories(options.path.parent_path(), ec);
  }
  std::unique_ptr<DuckDbWarehouse> w(new DuckDbWarehouse(options, std::move(entities)));
  auto db = w->keeper_->Acquire();
  if (!db.ok()) {
    return db.error();
  }
  if (!options.read_only) {
    Status schema = w->CreateSchema();
    if (!schema.ok()) {
      return schema.error().kind == ErrorKind::kInvalidInput
                 ? schema.error()
                 : schema.error().Context("cannot create the schema in " + options.path.string());
    }
  }
  return w;
}

Result<duckdb_database> DuckDbWarehouse::OpenDatabase(const DuckDbOptions& options) {
  duckdb_config config = nullptr;
  duckdb_create_config(&config);
  if (options.threads > 0) {
    duckdb_set_config(config, "threads", std::to_string(options.threads).c_str());
  }
  if (!options.memory_limit.empty()) {
    duckdb_set_config(config, "memory_limit", options.memory_limit.c_str());
  }
  // memory_limit bounds DuckDB's buffers, not what its allocator keeps after freeing them: by default it
  // returns memory to the system only once more than 128 MiB is outstanding after a task, or 512 MiB are
  // freed at once (a hash table, a sort). Measured on a 10M-row load and merge (`run --until-idle`,
  // memory_limit 512MB): peak resident 1,061 MiB with a flush threshold of 16 MB against 1,146 MiB without,
  // 994 MiB with the allocator's background threads too, at the same speed. Then in pairs of runs side by
  // side (10M rows, memory_limit 384MB): 970 MiB with the bulk threshold at 512 MiB against 865 at 16 MB;
  // 780 at 16 MB against 749 at 4 MB; the same time each.
  duckdb_set_config(config, "allocator_flush_threshold", "16MB");
  duckdb_set_config(config, "allocator_bulk_deallocation_flush_threshold", "4MB");
  duckdb_set_config(config, "allocator_background_threads", "true");
  if (!options.checkpoint_threshold.empty()) {
    duckdb_set_config(config, "checkpoint_threshold", options.checkpoint_threshold.c_str());
  }
  if (options.read_only) {
    duckdb_set_config(config, "access_mode", "READ_ONLY");
  }
  duckdb_database db = nullptr;
  char* err = nullptr;
  duckdb_state st = duckdb_open_ext(options.path.c_str(), &db, config, &err);
  duckdb_destroy_config(&config);
  if (st != DuckDBSuccess) {
    std::string message = err != nullptr ? err : "unknown error";
    duckdb_free(err);
    return duck::ToError("cannot open warehouse " + options.path.string(), message);
  }
  return db;
}

Status DuckDbWarehouse::CreateSchema() {
  auto c = keeper_->Connect();
  if (!c.ok()) {
    return c.error();
  }
  std::vector<const duck::EntityTables*> tables;
  for (const auto& e : entities_) {
    tables.push_back(&e->tables);
  }
  return duck::EnsureSchema(*c, *keeper_, tables, "warehouse " + options_.path.string());
}

const DuckDbWarehouse::Entity* DuckDbWarehouse::Find(const std::string& name) const {
  for (const auto& e : entities_) {
    if (e->spec.name == name) {
      return e.get();
    }
  }
  return nullptr;
}

Result<bool> DuckDbWarehouse::HasVersion(const ObjectKey& key, const std::string& version_tag) {
  return HasLoadWhere("version_tag", version_tag, key);
}

Result<bool> DuckDbWarehouse::HasLoad(const ObjectKey& key, const Checksum& checksum) {
  return HasLoadWhere("checksum", checksum.get(), key);
}

Result<bool> DuckDbWarehouse::HasLoadWhere(const char* column, const std::string& value,
                                           const ObjectKey& key) {
  auto c = keeper_->Connect();
  if (!c.ok()) {
    return c.error();
  }
  auto v = c->conn->ScalarInt(fmt::format("SELECT count(*) FROM {} WHERE object_key = $1 AND {} = $2",
                                          QuoteIdent(kLoadHistory), QuoteIdent(column)),
                              {key.get(), value});
  if (!v.ok()) {
    return v.error();
  }
  return v->value_or(0) > 0;
}

Result<std::unique_ptr<LoadSession>> DuckDbWarehouse::BeginLoad(const ObjectInfo& object,
                                                                const std::string& entity) {
  const Entity* e = Find(entity);
  if (e == nullptr && !entity.empty()) {
    return Error::Invalid("no entity '" + entity + "' in this warehouse");
  }
  std::unique_lock lock(load_mu_);
  auto c = keeper_->Connect();
  if (!c.ok()) {
    return c.error().Context("cannot load " + object.key.get());
  }
  auto session =
      duck::NewLoadSession(std::move(*c), *keeper_, std::move(lock), e ? &e->tables : nullptr, object);
  if (!session.ok()) {
    return session.error().Context("cannot load " + object.key.get());
  }
  return session;
}

Result<std::unique_ptr<MergeSession>> DuckDbWarehouse::BeginMerge(const std::string& entity) {
  const Entity* e = Find(entity);
  if (e == nullptr) {
    return Error::Invalid("no entity '" + entity + "' in this warehouse");
  }
  auto c = keeper_->Connect();
  if (!c.ok()) {
    return c.error();
  }
  return duck::NewMergeSession(std::move(*c), *keeper_, e->tables);
}

Status DuckDbWarehouse::RecordTask(const TaskRecord& task) {
  auto c = keeper_->Connect();
  if (!c.ok()) {
    return c.error();
  }
  DIMSTREAM_TRY(c->conn->Exec("BEGIN TRANSACTION"));
  DIMSTREAM_TRY(duck::InsertTask(*c->conn, task));
  return keeper_->Commit(*c->conn, *c->db);
}

Status DuckDbWarehouse::Checkpoint() {
  auto c = keeper_->Connect();
  if (!c.ok()) {
    return c.error();
  }
  return c->conn->Exec("CHECKPOINT");
}

uint64_t DuckDbWarehouse::Reopens() const {
  return keeper_->retirements();
}

Result<QueryResult> DuckDbWarehouse::Query(const std::string& sql) {
  return QueryOn(*keeper_, sql, duck::QueryAsText);
}

Result<QueryResult> DuckDbWarehouse::QueryReadOnly(const std::string& sql) {
  return QueryOn(*keeper_, sql, duck::ReadOnlyQueryAsText);
}

Result<ExportReceipt> DuckDbWarehouse::Export(const ExportRequest& request) {
  auto connected = keeper_->Connect();
  if (!connected.ok()) {
    return connected.error();
  }
  return duck::ExportSnapshot(*connected->conn, request);
}

std::string DuckDbWarehouse::Describe() const {
  return "duckdb:" + options_.path.string();
}

}  // namespace dimstream
