#pragma once

#include <filesystem>

#include "common/error.h"
#include "common/types.h"

namespace dimstream {

// The one check that an object key names a path inside `root`, shared by the bucket adapter and by the
// mover (whose landing paths are object keys). A key is valid when it is relative, uses '/' separators,
// has no empty segment, no segment starting with '.' (this refuses "." and "..", and also hidden names,
// which a listing never shows, so an object put under one would be invisible), no segment longer than
// 255 bytes, and no backslash or NUL. The resolved path must not pass through a symbolic link, the last
// segment included: `root` itself may be one. Anything else is kInvalidInput. Pure apart from lstat calls
// on the existing part of the path; thread-safe.
Result<std::filesystem::path> ResolveKey(const std::filesystem::path& root, const ObjectKey& key);

// The same rules without a root (an object store with no file system under it: S3): Ok or kInvalidInput.
Status CheckKey(const ObjectKey& key);

}  // namespace dimstream
