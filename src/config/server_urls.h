#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace dimstream {

struct Config;

// Where the bucket is, from `object_store.url`: a local directory (file:///path, or empty for bucket_dir)
// or an S3 bucket and the folder of it that is dimstream's (s3://bucket/prefix/).
struct ObjectStoreUrl {
  enum class Kind { kFile, kS3 };
  Kind kind = Kind::kFile;
  std::filesystem::path dir;  // kFile
  std::string bucket;         // kS3
  std::string prefix;         // kS3: "" or ending in '/'
};

// Parses and checks `object_store.url` with the keys that go with it: an S3 bucket's name follows S3's
// rules, its access_key and secret_key name entries of [secrets], a file:// URL does not contradict
// bucket_dir, and 'object_store.ca_file' goes with an s3:// bucket at an https:// endpoint (or AWS's).
// kInvalidInput naming the key otherwise. Reads no secret.
Result<ObjectStoreUrl> ParseObjectStoreUrl(const Config& config);

// Which queue carries the notifications, from `queue.url`: the one in this process (memory:, the default)
// or RabbitMQ (amqp://host:port/vhost, amqps:// with TLS).
struct QueueUrl {
  enum class Kind { kMemory, kAmqp };
  Kind kind = Kind::kMemory;
  bool tls = false;
  std::string authority;  // kAmqp: "host:port"
  std::string vhost;      // kAmqp: the path after the authority as written ("%2F" for "/"); may be empty
};

// Parses and checks `queue.url` with the keys that go with it: no credentials in the URL, 'queue.user' and
// 'queue.password' both name [secrets] entries or are both empty (RabbitMQ's guest login), 'queue.ca_file'
// only with amqps://. kInvalidInput naming the key otherwise. Reads no secret.
Result<QueueUrl> ParseQueueUrl(const Config& config);

// Which warehouse, from `warehouse.url`: a DuckDB file (empty: warehouse_path's, by default
// <data_dir>/warehouse.duckdb; a path; duckdb:///path) or a PostgreSQL database (postgresql:// or
// postgres://, libpq's URL).
struct WarehouseUrl {
  enum class Kind { kDuckDb, kPostgres };
  Kind kind = Kind::kDuckDb;
  std::filesystem::path path;  // kDuckDb: the file (Config::Warehouse())
  std::string url;             // kPostgres: as written; it holds no password
};

// The file that `url` (warehouse.url) names when it is a DuckDB one: the path itself, or a duckdb:///
// URL's; "" for an empty URL; nullopt for any other URL (postgresql://, or a scheme dimstream does not know).
std::optional<std::string> DuckDbPathOf(std::string_view url);

// Parses and checks `warehouse.url` with the keys that go with it: no password in a PostgreSQL URL (it is
// 'warehouse.password', the name of a [secrets] entry), no 'warehouse_path' beside one, and a path or
// duckdb:// URL that does not contradict 'warehouse_path'. kInvalidInput naming the key otherwise. Reads no
// secret.
Result<WarehouseUrl> ParseWarehouseUrl(const Config& config);

// Where the HTTP endpoints listen (`http.listen`, "host:port"): a loopback host needs nothing more; any
// other needs `http.token`, the name of a [secrets] entry.
struct HttpListen {
  std::string host;  // without the brackets of an IPv6 address
  int port = 0;      // 0: any free port
  bool loopback = true;
};

// Parses "127.0.0.1:7470", "[::1]:7470", "localhost:7470", "0.0.0.0:7470". kInvalidInput naming the key
// otherwise. Reads no secret.
Result<HttpListen> ParseHttpListen(const std::string& text);
// The same for a configuration: nullopt when http.listen is empty (no endpoints); off loopback, http.token
// must name a [secrets] entry.
Result<std::optional<HttpListen>> ParseHttpListen(const Config& config);

}  // namespace dimstream
