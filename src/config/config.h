#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/secret.h"
#include "config/entity.h"

namespace dimstream {

// Everything a dimstream process can be told. Each field is declared once in settings.cpp (key, type,
// default, description, validation); parsing, `dimstream config` and the README's table come from there.
struct Config {
  std::filesystem::path data_dir = "./dimstream-data";
  std::string landing_dir;     // empty: <data_dir>/landing
  std::string bucket_dir;      // empty: <data_dir>/bucket
  std::string warehouse_path;  // empty: <data_dir>/warehouse.duckdb

  // The bucket: empty or file:///path (a directory, bucket_dir's), or s3://bucket/prefix/ (any S3 store).
  std::string object_store_url;
  std::string object_store_endpoint;  // empty: AWS's own endpoint for the region
  std::string object_store_region = "us-east-1";
  bool object_store_path_style = true;
  std::string object_store_access_key;  // names of [secrets] entries, never values
  std::string object_store_secret_key;
  std::string
      object_store_ca_file;  // https://: the authorities to verify the endpoint with (empty: the system's)

  // The notification queue: "memory:" (in this process) or amqp://host:port/vhost (RabbitMQ).
  std::string queue_url = "memory:";
  std::string queue_name = "dimstream-objects";
  std::string queue_exchange = "dimstream";  // where a bucket's own notifications come in
  std::string queue_user;                    // names of [secrets] entries; both empty: RabbitMQ's guest login
  std::string queue_password;
  uint64_t queue_delivery_limit = 5;
  std::string queue_ca_file;  // amqps://: the authorities to verify the broker with (empty: the system's)
  std::string queue_notified_by = "mover";  // or "bucket": the S3 server notifies the broker itself

  uint64_t mover_poll_interval_ms = 1000;
  uint64_t mover_min_file_age_ms = 0;
  uint64_t mover_max_backlog_objects = 1000;
  uint64_t mover_retry_initial_ms = 200;
  uint64_t mover_retry_max_ms = 30000;

  std::string loader_on_error = "continue";
  uint64_t loader_list_interval_ms = 5000;
  uint64_t loader_max_reject_bytes = 65536;
  uint64_t loader_max_record_bytes = uint64_t{64} << 20;
  uint64_t loader_max_inflate_ratio = 250;
  std::string loader_memory_limit = "256MB";

  uint64_t merge_interval_ms = 1000;
  uint64_t merge_lease_ms = 5000;
  uint64_t merge_log_retention_days = 0;
  uint64_t merge_max_rows_per_run = 2000000;
  uint64_t merge_delta_rows_max = 100000;
  uint64_t merge_delta_closes_max = 500000;
  uint64_t merge_busy_delta_factor = 10;
  uint64_t merge_compaction_slice = 100000;
  uint64_t merge_delta_bounds_keys = 10000000;
  uint64_t merge_opened_to_base_from = 100000;
  uint64_t merge_idle_compaction_ms = 2000;

  // The warehouse: empty, a path or duckdb:///path (a DuckDB file, as warehouse_path), or postgresql://
  // (or postgres://) user@host:port/database (PostgreSQL; no password in it).
  std::string warehouse_url;
  std::string warehouse_password;  // postgresql://: the name of the [secrets] entry holding the password
  uint64_t warehouse_threads = 0;
  uint64_t warehouse_open_timeout_ms = 30000;
  std::string warehouse_memory_limit = "384MB";
  std::string warehouse_checkpoint_threshold = "1GB";

  std::string log_level = "info";
  std::string log_format = "text";  // or json: one JSON object a line

  std::string publish_dir;  // empty: `run` publishes nothing (run --publish DIR sets it)
  uint64_t publish_interval_ms = 10000;

  std::string http_listen = "127.0.0.1:7470";  // empty: no HTTP endpoints
  std::string http_token;                      // the name of the [secrets] entry; empty: no token

  // Every declared entity ([entity] or [[entities]]); by default the built-in customer entity alone. Each has
  // its file_pattern resolved.
  std::vector<EntitySpec> entities = {DefaultEntity()};

  // [secrets]: credentials by name, each from an environment variable or a private file, never written in
  // the configuration itself. Adapters that need one read it with ReadConfiguredSecret.
  std::map<std::string, SecretSource> secrets;

  // The built-in customer entity, routed every file ("*").
  static EntitySpec DefaultEntity();
  // The entity called `name`; kInvalidInput naming the declared ones when there is none.
  Result<const EntitySpec*> Entity(const std::string& name) const;

  std::filesystem::path Landing() const;
  std::filesystem::path Bucket() const;
  // The DuckDB file: warehouse.url's path, else warehouse_path, else <data_dir>/warehouse.duckdb (see
  // ParseWarehouseUrl for whether the warehouse is a DuckDB file at all).
  std::filesystem::path Warehouse() const;
};

// One declared setting, as `dimstream config` prints it.
struct SettingInfo {
  std::string key;
  std::string type;
  std::string default_value;
  std::string description;
};
std::vector<SettingInfo> DescribeSettings();

// Reads a TOML file over the defaults. Unknown keys, wrong types and bad values are refused with a
// message naming the key and the file. Touches nothing but the file it reads.
Result<Config> LoadConfig(const std::filesystem::path& file);
// The same for TOML text (tests, fuzzing); `origin` names it in messages.
Result<Config> ParseConfig(std::string_view toml_text, const std::string& origin);

// The credential named `name` in [secrets], read now (see ReadSecret).
Result<Secret> ReadConfiguredSecret(const Config& config, const std::string& name);

// The defaults as a commented TOML document (`dimstream config`).
std::string DefaultConfigToml();
// What `dimstream init` writes: the defaults, with a starting declaration for each of `entities` in place of
// the built-in customer entity's (none: the defaults as they are).
std::string StarterConfigToml(const std::vector<std::string>& entities);

}  // namespace dimstream
