#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "common/error.h"

namespace dimstream {

// A sequence of bytes read front to back, a block at a time: an object of the bucket, a decompressed
// object, a buffer in a test. Memory stays bounded by the caller's blocks, whatever the stream's size.
// Read from one thread.
class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // Reads up to `size` bytes (at least one unless the stream is at its end) into `buffer`; 0 at the end.
  // kInvalidInput when the bytes cannot be what they claim to be (corrupt compressed data: the object is
  // rejected whole), kRetryable for an I/O failure that may pass (the load is tried again later).
  virtual Result<size_t> Read(char* buffer, size_t size) = 0;
  // Bytes taken from the underlying object so far (for a decompressing stream: compressed bytes read).
  virtual uint64_t consumed() const = 0;
};

// Every remaining byte of `stream` (for small objects and tests).
Result<std::string> ReadWhole(ByteStream& stream);

// A stream over bytes the caller keeps alive (tests, fuzzing, small objects).
class MemoryStream : public ByteStream {
 public:
  explicit MemoryStream(std::string_view bytes, size_t max_read = SIZE_MAX)
      : bytes_(bytes), max_read_(max_read) {}
  Result<size_t> Read(char* buffer, size_t size) override;
  uint64_t consumed() const override { return pos_; }

 private:
  std::string_view bytes_;
  size_t max_read_;  // at most this many bytes per Read (tests: records split across reads)
  size_t pos_ = 0;
};

// A file read front to back from a descriptor it owns (and closes): an object of the local bucket, an S3
// object spooled to a temporary file. `what` names it in messages.
class FileStream : public ByteStream {
 public:
  FileStream(int fd, std::string what) : fd_(fd), what_(std::move(what)) {}
  ~FileStream() override;
  FileStream(const FileStream&) = delete;
  FileStream& operator=(const FileStream&) = delete;
  Result<size_t> Read(char* buffer, size_t size) override;
  uint64_t consumed() const override { return consumed_; }

 private:
  int fd_;
  std::string what_;
  uint64_t consumed_ = 0;
};

}  // namespace dimstream
