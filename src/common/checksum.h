#pragma once

#include <filesystem>
#include <string_view>

#include "common/error.h"
#include "common/types.h"

namespace dimstream {

// SHA-256 of a byte string, lower-case hex.
Checksum Sha256(std::string_view bytes);

// SHA-256 and size of a file, read in blocks (bounded memory). kNotFound if it does not exist,
// kRetryable on any other I/O error.
struct FileDigest {
  Checksum checksum;
  uint64_t size = 0;
};
Result<FileDigest> Sha256File(const std::filesystem::path& path);

// SHA-256 computed a block at a time, for bytes that come as a stream (the loader hashes an object while it
// parses it).
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;
  void Update(std::string_view bytes);
  Checksum Finish();

 private:
  void* ctx_;  // EVP_MD_CTX, kept out of this header
};

// SHA-256 and size of every remaining byte of `stream`, in bounded memory.
class ByteStream;
Result<FileDigest> Sha256Stream(ByteStream& stream);

}  // namespace dimstream
