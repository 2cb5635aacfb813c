#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "common/byte_stream.h"
#include "common/checksum.h"
#include "config/entity.h"
#include "loader/decompress.h"
#include "loader/file_format.h"
#include "loader/record_source.h"
#include "object_store/object_store.h"

namespace dimstream {

// What bounds a reader's memory and work, whatever an object holds.
struct ReaderLimits {
  uint64_t max_record_bytes = uint64_t{64} << 20;
  InflateLimits inflate;
  std::string parquet_memory_limit = "256MB";
  std::filesystem::path temp_dir;  // for objects a reader needs as a local file (Parquet); empty: $TMPDIR
};

// A ByteStream that passes another through while it computes the SHA-256 and size of what passed: the
// checksum of an object read once, for exactly-once loading.
class DigestingStream : public ByteStream {
 public:
  explicit DigestingStream(std::unique_ptr<ByteStream> inner) : inner_(std::move(inner)) {}
  Result<size_t> Read(char* buffer, size_t size) override;
  uint64_t consumed() const override { return size_; }
  // Reads what the reader left (trailing bytes after the last record), then gives the digest of it all.
  Result<FileDigest> Finish();

 private:
  std::unique_ptr<ByteStream> inner_;
  Sha256Hasher hasher_;
  uint64_t size_ = 0;
};

// Counts the bytes that pass (an object's size after decompression).
class CountingStream : public ByteStream {
 public:
  explicit CountingStream(std::unique_ptr<ByteStream> inner) : inner_(std::move(inner)) {}
  Result<size_t> Read(char* buffer, size_t size) override;
  uint64_t consumed() const override { return count_; }

 private:
  std::unique_ptr<ByteStream> inner_;
  uint64_t count_ = 0;
};

// One object opened in its format, ready to read: the source, and what tells its checksum and sizes once
// it has been read. Removes its temporary file, if it made one.
struct OpenedObject {
  OpenedObject() = default;
  OpenedObject(OpenedObject&&) = default;
  OpenedObject& operator=(OpenedObject&&) = default;
  ~OpenedObject();

  ObjectFormat format;
  std::unique_ptr<RecordSource> source;
  // The digest of the object's stored bytes: inside the source's chain (CSV, JSON lines) or held here
  // (Parquet, whose reader opens a file).
  DigestingStream* digest = nullptr;
  std::unique_ptr<ByteStream> held;  // the stream chain that holds `digest`, when the source does not
  const CountingStream* decompressed = nullptr;  // null: `uncompressed` is final
  uint64_t uncompressed = 0;
  std::filesystem::path temp_file;

  uint64_t uncompressed_size() const { return decompressed ? decompressed->consumed() : uncompressed; }
  // The object's checksum and stored size, reading whatever the source left.
  Result<FileDigest> Finish() { return digest->Finish(); }
};

// Opens `object` as its key's suffix (or the entity's loader.format) says, decompressing on the fly.
// kInvalidInput: the object cannot be read in that format at all (an unknown suffix, not Parquet, ...):
// it is recorded as failed. kNotFound: it vanished. kRetryable: the bucket or the disk failed.
Result<OpenedObject> OpenObject(ObjectStore& store, const ObjectInfo& object, const EntitySpec& entity,
                                const ReaderLimits& limits);

// The checksum and size of an object that is recorded without being read (it matched no entity).
Result<FileDigest> DigestObject(ObjectStore& store, const ObjectKey& key);

}  // namespace dimstream
