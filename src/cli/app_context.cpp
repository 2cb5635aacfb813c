#include "cli/app_context.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "cli/query_server.h"
#include "object_store/local_object_store.h"
#include "queue/memory_queue.h"
#include "warehouse/duckdb/duckdb_warehouse.h"

namespace dimstream {

Config ResolveConfig(const GlobalOptions& options) {
  Config config;
  if (!options.config_file.empty()) {
    auto loaded = LoadConfig(options.config_file);
    if (!loaded.ok()) {
      throw std::runtime_error(loaded.error().message);
    }
    config = std::move(*loaded);
  }
  if (!options.data_dir.empty()) {
    config.data_dir = options.data_dir;
  }
  if (!options.log_level.empty()) {
    config.log_level = options.log_level;
  }
  auto logger = spdlog::stderr_color_mt("dimstream");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  return config;
}

std::unique_ptr<ObjectStore> MakeObjectStore(const Config& config) {
  return std::make_unique<LocalObjectStore>(config.Bucket());
}

std::unique_ptr<NotificationQueue> MakeQueue(const Config&) {
  return std::make_unique<MemoryQueue>();
}

Result<std::unique_ptr<Warehouse>> OpenWarehouse(const Config& config) {
  DuckDbOptions options{config.Warehouse(), config.warehouse_threads, config.warehouse_memory_limit,
                        config.warehouse_checkpoint_threshold};
  auto w = DuckDbWarehouse::Open(options, config.entity);
  if (!w.ok()) {
    return w.error();
  }
  return std::unique_ptr<Warehouse>(std::move(*w));
}

bool HeldByAnotherProcess(const Error& error) {
  return error.kind == ErrorKind::kRetryable && error.message.find("Could not set lock") != std::string::npos;
}

Result<QueryResult> QueryAnywhere(const Config& config, const std::string& sql) {
  // A running process first: opening the file ourselves would fail while it holds it anyway.
  auto remote = RemoteQuery(QuerySocketFor(config.Warehouse()), sql);
  if (remote.ok() || remote.error().kind != ErrorKind::kNotFound) {
    return remote;
  }
  auto w = OpenWarehouse(config);
  if (!w.ok()) {
    if (HeldByAnotherProcess(w.error())) {
      return Error::Retryable(
          w.error().message +
          "\nAnother process holds the warehouse and does not serve queries (only `dimstream "
          "run`, `load` and `merge` do). Stop it or wait for it to finish.");
    }
    return w.error();
  }
  return (*w)->Query(sql);
}

}  // namespace dimstream
