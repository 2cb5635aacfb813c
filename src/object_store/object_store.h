#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/byte_stream.h"
#include "common/error.h"
#include "common/types.h"

namespace dimstream {

// What a listing or a stat says about one object.
struct ObjectInfo {
  ObjectKey key;
  uint64_t size = 0;
  // Changes whenever the object's content may have changed (local: mtime and inode; S3: ETag). Lets the
  // loader skip re-reading an object it has already loaded without computing its checksum again.
  std::string version_tag;
};

// Where a bucket's own notifications of new objects go: an AMQP exchange, through a topic of the S3 server
// (radosgw's bucket notifications; S3 -> SQS in the seed).
struct BucketNotification {
  std::string topic;  // the S3 server's topic that carries them
  std::string
      push_endpoint;  // the broker as the S3 server reaches it: amqp://[user:password@]host:port[/vhost]
  std::string exchange;
};

// Port: the bucket. Keys are relative paths with '/' separators; a key that would escape the bucket
// ("..", absolute, through a symbolic link) is refused with kInvalidInput. Implementations are
// thread-safe: the mover puts from its thread while the loader lists and reads from another.
class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Copies the local file `source` to `key`. The object appears whole or not at all under its final key;
  // after the put its size and SHA-256 are verified against `expected`, and a mismatch is kRetryable.
  virtual Status Put(const ObjectKey& key, const std::filesystem::path& source,
                     const ObjectRef& expected) = 0;

  // Every object in the bucket, in key order. Temporary objects of unfinished puts are not listed.
  virtual Result<std::vector<ObjectInfo>> List() = 0;

  virtual Result<ObjectInfo> Stat(const ObjectKey& key) = 0;

  // Reads the whole object. kNotFound when it does not exist (any more). For small objects and tests: the
  // loader streams with Open.
  virtual Result<std::string> Get(const ObjectKey& key) = 0;

  // The object as a stream read front to back in bounded memory, whatever its size. kNotFound when it does
  // not exist (any more); reading fails with kRetryable on an I/O error.
  virtual Result<std::unique_ptr<ByteStream>> Open(const ObjectKey& key) = 0;

  // A local file holding the object, when the adapter has one (the local bucket), for readers that need
  // random access (Parquet); nullopt otherwise, and the caller copies the stream to a temporary file.
  virtual std::optional<std::filesystem::path> LocalFile(const ObjectKey& key) {
    (void)key;
    return std::nullopt;
  }

  // Has the bucket itself notify `to` of every new object under this store's folder, from now on
  // (idempotent). kPermanent for a store that cannot (a local directory).
  virtual Status NotifyNewObjects(const BucketNotification& to) {
    (void)to;
    return Error::Permanent(Describe() + " cannot send notifications of its own: let the mover send them");
  }

  // Where the bucket is, for messages and `status` (for example "file:///srv/bucket"). Never credentials.
  virtual std::string Describe() const = 0;
};

}  // namespace dimstream
