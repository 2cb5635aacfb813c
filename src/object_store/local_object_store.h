#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/types.h"
#include "object_store/object_store.h"

namespace dimstream {

// The bucket as a local directory ("file://"): the default adapter of the ObjectStore port.
//
// Owns nothing but the directory tree under `root`; `<root>/.tmp/` holds the temporary files of puts in
// progress (on the same file system, so that the final rename is atomic). An object appears whole or not
// at all: a put writes and fsyncs a temporary file, checks its size and SHA-256, renames it onto the key
// and fsyncs the directory. Thread-safe and stateless between calls: the mover puts from its thread while
// the loader lists and reads from another, and several processes may share one root.
class LocalObjectStore : public ObjectStore {
 public:
  // Creates `root` (and `<root>/.tmp`) when missing, and removes temporary files that a crashed put left
  // there more than an hour ago. Called at start-up: throws std::filesystem::filesystem_error when the
  // directory cannot be created.
  explicit LocalObjectStore(std::filesystem::path root);

  // When the object already holds exactly `expected` (same size and SHA-256), succeeds without rewriting
  // it, so a put repeated after a crash or a lost notification changes nothing.
  Status Put(const ObjectKey& key, const std::filesystem::path& source, const ObjectRef& expected) override;

  // Recursive, in key order; skips `.tmp/`, every name starting with '.', and anything that is not a
  // regular file. Never follows a symbolic link: a link is not an object.
  Result<std::vector<ObjectInfo>> List() override;

  Result<ObjectInfo> Stat(const ObjectKey& key) override;
  Result<std::string> Get(const ObjectKey& key) override;
  Result<std::unique_ptr<ByteStream>> Open(const ObjectKey& key) override;
  // The object's file under the root (for readers that need random access, such as Parquet's).
  std::optional<std::filesystem::path> LocalFile(const ObjectKey& key) override;

  // "file:///absolute/root".
  std::string Describe() const override;

  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path TempDir() const;
  std::filesystem::path NewTempPath();

  std::filesystem::path root_;  // absolute, lexically normal, without a trailing separator
  std::string description_;
  std::atomic<uint64_t> temp_sequence_{0};
  uint64_t temp_salt_ = 0;  // tells apart the temporary files of two stores (or processes) on one root
};

}  // namespace dimstream
