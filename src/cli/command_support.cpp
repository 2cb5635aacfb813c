#include "cli/command_support.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/checksum.h"

namespace dimstream {

MoverOptions MoverOptionsFrom(const Config& c) {
  MoverOptions o;
  o.landing = c.Landing();
  o.poll_interval = std::chrono::milliseconds(c.mover_poll_interval_ms);
  o.min_file_age = std::chrono::milliseconds(c.mover_min_file_age_ms);
  o.max_backlog_objects = c.mover_max_backlog_objects;
  o.retry_initial = std::chrono::milliseconds(c.mover_retry_initial_ms);
  o.retry_max = std::chrono::milliseconds(c.mover_retry_max_ms);
  return o;
}

MergeOptions MergeOptionsFrom(const Config& c, const EntitySpec& entity) {
  MergeOptions o;
  o.log_retention_us = static_cast<int64_t>(c.merge_log_retention_days) * 86400 * 1000000;
  o.max_rows_per_run = c.merge_max_rows_per_run;
  o.delta_rows_max = c.merge_delta_rows_max;
  o.delta_closes_max = c.merge_delta_closes_max;
  o.busy_delta_factor = c.merge_busy_delta_factor;
  o.compaction_slice = c.merge_compaction_slice;
  o.delta_bounds_keys = c.merge_delta_bounds_keys;
  o.opened_to_base_from = c.merge_opened_to_base_from;
  o.idle_compaction_after = std::chrono::milliseconds(c.merge_idle_compaction_ms);
  // Beside the warehouse file: <warehouse>.<entity>.keys. For PostgreSQL in the data directory, named after
  // the database: a snapshot read against another database would pass for its state.
  o.index_snapshot = IsPostgres(c) ? c.data_dir / ("postgres-" + Sha256(c.warehouse_url).get().substr(0, 16))
                                   : c.Warehouse();
  o.index_snapshot += "." + entity.name + ".keys";
  return o;
}

LoaderOptions LoaderOptionsFrom(const Config& c) {
  LoaderOptions o;
  o.on_error = Must(ParseOnError(c.loader_on_error));
  o.list_interval = std::chrono::milliseconds(c.loader_list_interval_ms);
  o.max_reject_bytes = c.loader_max_reject_bytes;
  o.readers.max_record_bytes = c.loader_max_record_bytes;
  o.readers.inflate.max_ratio = c.loader_max_inflate_ratio;
  o.readers.parquet_memory_limit = c.loader_memory_limit;
  return o;
}

std::vector<const EntitySpec*> SelectEntities(const Config& config, const std::string& name) {
  std::vector<const EntitySpec*> out;
  if (name.empty()) {
    for (const auto& e : config.entities) {
      out.push_back(&e);
    }
    return out;
  }
  out.push_back(Must(config.Entity(name)));
  return out;
}

std::unique_ptr<Warehouse> MustOpenWarehouse(const Config& config, const StopSignal& stop) {
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(config.warehouse_open_timeout_ms);
  auto w = OpenWarehouse(config);
  bool told = false;
  while (!w.ok() && w.error().kind == ErrorKind::kRetryable && std::chrono::steady_clock::now() < deadline) {
    if (!told) {
      spdlog::warn("{}; trying again for up to {} ms (warehouse.open_timeout_ms)", w.error().message,
                   config.warehouse_open_timeout_ms);
      told = true;
    }
    if (stop.WaitFor(std::chrono::milliseconds(200))) {
      break;
    }
    w = OpenWarehouse(config);
  }
  if (!w.ok() && HeldByAnotherProcess(w.error())) {
    throw Fail(w.error().message +
               "\nAnother process holds the warehouse (the PID above). If it is a dimstream process, stop it "
               "first, or query it with `dimstream sql` and `dimstream status`, which work while it runs. "
               "Nothing was changed.");
  }
  return Must(std::move(w));
}

QueryService::QueryService(const Config& config, Warehouse& warehouse) {
  if (IsPostgres(config)) {
    return;  // other processes query the server themselves
  }
  auto server = QueryServer::Start(QuerySocketFor(config.Warehouse()), warehouse);
  if (!server.ok()) {
    spdlog::warn("queries from other processes are not served: {}", server.error().message);
    return;
  }
  server_ = std::move(*server);
  thread_ = std::thread([this] { server_->Run(done_); });
}

QueryService::~QueryService() {
  done_.Request();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void PrintMergeSummary(const std::string& entity, const TaskRecord& t) {
  if (t.rows_in == 0) {
    fmt::print("merge {}: nothing to merge (watermark {})\n", entity, t.watermark_from);
    return;
  }
  fmt::print(
      "merge {}: {} rows in ({} after de-duplication, {} keys): {} versions opened, {} closed, {} SCD1 "
      "updates; "
      "watermark {} -> {}\n",
      entity, t.rows_in, t.rows_staged, t.keys, t.versions_opened, t.versions_closed, t.scd1_updates,
      t.watermark_from, t.watermark_to);
}

}  // namespace dimstream
