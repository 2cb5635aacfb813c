#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "common/error.h"
#include "config/config.h"
#include "object_store/object_store.h"
#include "queue/notification_queue.h"
#include "warehouse/warehouse.h"

namespace dimstream {

// Global options every command accepts.
struct GlobalOptions {
  std::string data_dir;  // empty: from the configuration file, else ./dimstream-data
  std::string config_file;
  std::string log_level;
  std::string log_format;  // text or json; empty: the configuration's log_format
};

// Reads the configuration (file, then command-line overrides) and sets up logging. Throws
// std::runtime_error with a message naming the file and key: configuration is an edge.
Config ResolveConfig(const GlobalOptions& options);

// The adapters one process uses, built from the configuration: the embedded defaults (a directory as
// the bucket, an in-process queue, a DuckDB file). Owned by the command that runs.
struct Adapters {
  std::unique_ptr<ObjectStore> store;
  std::unique_ptr<NotificationQueue> queue;
  std::unique_ptr<Warehouse> warehouse;
};

std::unique_ptr<ObjectStore> MakeObjectStore(const Config& config);
// The queue of notifications: in this process (memory:) or RabbitMQ (queue.url). A broker that cannot be
// reached yet is only warned of (every call retries); one that refuses the login throws.
std::unique_ptr<NotificationQueue> MakeQueue(const Config& config);
// The broker's queue (MakeQueue), or null when the queue is the in-process one: a process with only some of
// the roles has nobody in it to notify, nor to be notified by.
std::unique_ptr<NotificationQueue> MakeBrokerQueue(const Config& config);
// Whether the bucket itself notifies the broker (queue.notified_by = "bucket"); when it does, has `store`
// set that up now (the topic and the bucket's notification; throws when it cannot), and the mover must not
// publish as well.
bool BucketNotifies(const Config& config, ObjectStore& store);
// The warehouse warehouse.url names: a DuckDB file or a PostgreSQL database. kRetryable when another process
// holds the file, when it cannot be written now (disk full), or when the PostgreSQL server cannot be reached.
Result<std::unique_ptr<Warehouse>> OpenWarehouse(const Config& config);
// Whether the warehouse is a PostgreSQL database: several processes share it, and any client reads it (no
// query socket, no file beside it).
bool IsPostgres(const Config& config);
// Where the warehouse is, for messages: the DuckDB file, or "PostgreSQL <url>" (no password in it).
std::string DescribeWarehouse(const Config& config);
// True when OpenWarehouse failed because another process holds the file's lock (DuckDB names it and its
// PID in the message), rather than for a reason that waiting for that process cannot fix.
bool HeldByAnotherProcess(const Error& error);

// Runs `sql` on the warehouse: on DuckDB directly when this process can open the file, otherwise through
// the query socket of the process that holds it; on PostgreSQL straight on the server.
Result<QueryResult> QueryAnywhere(const Config& config, const std::string& sql);

}  // namespace dimstream
