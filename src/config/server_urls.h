#pragma once

#include <filesystem>
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
// rules, its access_key and secret_key name entries of [secrets], and a file:// URL does not contradict
// bucket_dir. kInvalidInput naming the key otherwise. Reads no secret.
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

}  // namespace dimstream
