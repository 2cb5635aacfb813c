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

}  // namespace dimstream
