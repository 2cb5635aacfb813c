#include "cli/app_context.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <mutex>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/secret.h"

#include "cli/query_server.h"
#include "config/server_urls.h"
#include "object_store/local_object_store.h"
#include "object_store/s3/s3_object_store.h"
#include "queue/memory_queue.h"
#include "queue/rabbitmq/rabbitmq_queue.h"
#include "warehouse/duckdb/duckdb_warehouse.h"
#include "warehouse/postgres/pg_warehouse.h"

namespace dimstream {
namespace {

// Passes every log message through Redact() before the real sink writes it: a credential that reaches a
// message (an adapter's error text quoting a connection string, say) is shown as "***".
class RedactingSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit RedactingSink(spdlog::sink_ptr inner) : inner_(std::move(inner)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string text = Redact(std::string_view(msg.payload.data(), msg.payload.size()));
    spdlog::details::log_msg redacted = msg;
    redacted.payload = text;
    inner_->log(redacted);
  }
  void flush_() override { inner_->flush(); }

 private:
  spdlog::sink_ptr inner_;
};

// --log-format json: one JSON object a line, {"time", "level", "message"}, for log shippers (Vector, Fluent
// Bit, journald's JSON readers); the message escaped as JSON, whatever bytes it holds.
class JsonLogFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(msg.time.time_since_epoch()).count();
    nlohmann::ordered_json line = {{"time", FormatTimestamp(us)},
                                   {"level", std::string(spdlog::level::to_string_view(msg.level).data(),
                                                         spdlog::level::to_string_view(msg.level).size())},
                                   {"message", std::string(msg.payload.data(), msg.payload.size())}};
    const std::string text = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonLogFormatter>(); }
};

// The value of the [secrets] entry `name`, for an adapter's options; throws when it cannot be read.
std::string RevealSecret(const Config& config, const std::string& name) {
  auto value = ReadConfiguredSecret(config, name);
  if (!value.ok()) {
    throw std::runtime_error(value.error().message);
  }
  return std::string(value->Reveal());
}

// The PostgreSQL password: the [secrets] entry warehouse.password names, or none.
Result<std::string> PostgresPassword(const Config& config) {
  if (config.warehouse_password.empty()) {
    return std::string();
  }
  auto secret = ReadConfiguredSecret(config, config.warehouse_password);
  if (!secret.ok()) {
    return secret.error();
  }
  return std::string(secret->Reveal());
}

// `sql` on PostgreSQL, which any client reads while other processes write: straight to the server, on a
// connection of its own, without opening the warehouse (whose schema statements would wait for a merge run
// in progress). Only a database that no dimstream process has opened yet, without load_history, gets its
// schema first, as a DuckDB file does when a query opens it.
Result<QueryResult> QueryPostgres(const Config& config, const std::string& sql) {
  auto password = PostgresPassword(config);
  if (!password.ok()) {
    return password.error();
  }
  auto r = PgWarehouse::QueryOnce(config.warehouse_url, *password, sql);
  if (r.ok() || r.error().kind != ErrorKind::kNotFound) {
    return r;
  }
  auto ledger = PgWarehouse::QueryOnce(config.warehouse_url, *password, "SELECT to_regclass('load_history')");
  if (!ledger.ok() || ledger->rows.empty() || ledger->rows[0][0].has_value()) {
    return r;  // the schema is there: the query names something else
  }
  auto w = OpenWarehouse(config);
  if (!w.ok()) {
    return w.error();
  }
  return (*w)->Query(sql);
}

}  // namespace

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
  if (!options.log_format.empty()) {
    config.log_format = options.log_format;
  }
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  if (config.log_format == "json") {
    console->set_formatter(std::make_unique<JsonLogFormatter>());
  } else {
    console->set_formatter(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v",
                                                                       spdlog::pattern_time_type::utc));
  }
  auto logger = std::make_shared<spdlog::logger>("dimstream", std::make_shared<RedactingSink>(console));
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  // Every configured credential is read at start: a missing variable or an unsafe file is reported now,
  // not when an adapter first connects, and each value is known to Redact() from here on.
  for (const auto& [name, source] : config.secrets) {
    auto secret = ReadConfiguredSecret(config, name);
    if (!secret.ok()) {
      throw std::runtime_error(secret.error().message);
    }
  }
  return config;
}

std::unique_ptr<ObjectStore> MakeObjectStore(const Config& config) {
  auto url = ParseObjectStoreUrl(config);  // checked when the configuration was read
  if (!url.ok()) {
    throw std::runtime_error(url.error().message);
  }
  if (url->kind == ObjectStoreUrl::Kind::kFile) {
    return std::make_unique<LocalObjectStore>(url->dir);
  }
  S3ObjectStore::Options options;
  options.location.endpoint = config.object_store_endpoint;
  options.location.region = config.object_store_region;
  options.location.bucket = url->bucket;
  options.location.path_style = config.object_store_path_style;
  options.location.ca_file = config.object_store_ca_file;
  options.location.access_key = RevealSecret(config, config.object_store_access_key);
  options.location.secret_key = RevealSecret(config, config.object_store_secret_key);
  options.prefix = url->prefix;
  // Objects being read are spooled beside the data, not into /tmp (often a small tmpfs).
  options.spool_dir = config.data_dir / "spool";
  std::error_code ec;
  std::filesystem::create_directories(options.spool_dir, ec);
  if (ec) {
    throw std::runtime_error(fmt::format("cannot create {}: {}", options.spool_dir.string(), ec.message()));
  }
  return std::make_unique<S3ObjectStore>(std::move(options));
}

std::unique_ptr<NotificationQueue> MakeQueue(const Config& config) {
  auto url = ParseQueueUrl(config);  // checked when the configuration was read
  if (!url.ok()) {
    throw std::runtime_error(url.error().message);
  }
  if (url->kind == QueueUrl::Kind::kMemory) {
    return std::make_unique<MemoryQueue>();
  }
  RabbitMqOptions options;
  options.endpoint.url = config.queue_url;
  if (!config.queue_user.empty()) {
    options.endpoint.user = RevealSecret(config, config.queue_user);
    options.endpoint.password = RevealSecret(config, config.queue_password);
  }
  options.endpoint.ca_file = config.queue_ca_file;
  options.queue = config.queue_name;
  options.exchange = config.queue_exchange;
  options.delivery_limit = static_cast<uint32_t>(config.queue_delivery_limit);
  // Notifications name whole keys in the bucket; the object store's keys are relative to its folder.
  if (auto store = ParseObjectStoreUrl(config); store.ok() && store->kind == ObjectStoreUrl::Kind::kS3) {
    options.bucket = store->bucket;
    options.key_prefix = store->prefix;
  }
  auto queue = std::make_unique<RabbitMqQueue>(std::move(options));
  Status connected = queue->Connect();
  if (!connected.ok() && connected.error().kind != ErrorKind::kRetryable) {
    throw std::runtime_error(connected.error().message);
  }
  if (!connected.ok()) {
    spdlog::warn("{} (retrying while running)", connected.error().message);
  }
  return queue;
}

std::unique_ptr<NotificationQueue> MakeBrokerQueue(const Config& config) {
  if (ParseQueueUrl(config).value().kind == QueueUrl::Kind::kMemory) {
    return nullptr;
  }
  return MakeQueue(config);
}

bool BucketNotifies(const Config& config, ObjectStore& store) {
  if (config.queue_notified_by != "bucket") {
    return false;
  }
  // The broker as the S3 server reaches it: the queue's URL with the login in it (radosgw keeps it with the
  // topic), the default virtual host as no path at all (radosgw reads "/%2F" as a host named "%2F").
  QueueUrl url = ParseQueueUrl(config).value();  // checked when the configuration was read
  std::string vhost = url.vhost == "%2F" || url.vhost == "%2f" ? "" : url.vhost;
  std::string login;
  if (!config.queue_user.empty()) {
    login = s3::S3Client::Escape(RevealSecret(config, config.queue_user)) + ":" +
            s3::S3Client::Escape(RevealSecret(config, config.queue_password)) + "@";
  }
  BucketNotification to;
  to.topic = config.queue_name;
  to.exchange = config.queue_exchange;
  to.push_endpoint =
      (url.tls ? "amqps://" : "amqp://") + login + url.authority + (vhost.empty() ? "" : "/" + vhost);
  Status set = store.NotifyNewObjects(to);
  if (!set.ok()) {
    throw std::runtime_error(set.error().message);
  }
  spdlog::info("the bucket {} notifies new objects to the queue {} through the exchange {} of {}",
               store.Describe(), config.queue_name, to.exchange, config.queue_url);
  return true;
}

Result<std::unique_ptr<Warehouse>> OpenWarehouse(const Config& config) {
  auto url = ParseWarehouseUrl(config);  // checked when the configuration was read
  if (!url.ok()) {
    return url.error();
  }
  if (url->kind == WarehouseUrl::Kind::kPostgres) {
    auto password = PostgresPassword(config);
    if (!password.ok()) {
      return password.error();
    }
    auto w = PgWarehouse::Open(url->url, *password, config.entities);
    if (!w.ok()) {
      return w.error();
    }
    return std::unique_ptr<Warehouse>(std::move(*w));
  }
  DuckDbOptions options{url->path, config.warehouse_threads, config.warehouse_memory_limit,
                        config.warehouse_checkpoint_threshold};
  auto w = DuckDbWarehouse::Open(options, config.entities);
  if (!w.ok()) {
    return w.error();
  }
  return std::unique_ptr<Warehouse>(std::move(*w));
}

bool IsPostgres(const Config& config) {
  auto url = ParseWarehouseUrl(config);
  return url.ok() && url->kind == WarehouseUrl::Kind::kPostgres;
}

std::string DescribeWarehouse(const Config& config) {
  return IsPostgres(config) ? "PostgreSQL " + config.warehouse_url : config.Warehouse().string();
}

bool HeldByAnotherProcess(const Error& error) {
  return error.kind == ErrorKind::kRetryable && error.message.find("Could not set lock") != std::string::npos;
}

Result<QueryResult> QueryAnywhere(const Config& config, const std::string& sql) {
  if (IsPostgres(config)) {
    return QueryPostgres(config, sql);
  }
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
