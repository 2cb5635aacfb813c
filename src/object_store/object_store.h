#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

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

  // Reads the whole object. kNotFound when it does not exist (any more).
  virtual Result<std::string> Get(const ObjectKey& key) = 0;

  // Where the bucket is, for messages and `status` (for example "file:///srv/bucket"). Never credentials.
  virtual std::string Describe() const = 0;
};

}  // namespace dimstream
