#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "common/byte_stream.h"

namespace dimstream {

enum class Compression { kNone, kGzip, kZstd };

// What a decompressing stream accepts before it calls the object a decompression bomb: at most
// `max_ratio` bytes out per compressed byte in, once more than `free_bytes` have come out.
struct InflateLimits {
  uint64_t max_ratio = 250;
  uint64_t free_bytes = uint64_t{64} << 20;
};

// `compressed` decompressed on the fly, a block at a time (never the whole object in memory): gzip (zlib;
// several members one after the other are one stream, as gzip(1) reads them) or zstd (libzstd; several
// frames likewise, checksums checked when the frames carry them). kNone returns `compressed` itself.
// Read fails with kInvalidInput and a reason a person can act on for corrupt or truncated data (the input
// ending inside a member or frame), a bad checksum, bytes after the last member or frame that are not
// another one (gzip(1) only warns: here the file is refused), a zstd frame needing a window over 128 MiB or
// in a pre-2016 legacy format, an empty file, or output beyond the limits; with the underlying stream's
// error, kind kept, for an I/O failure. After an error every Read returns the same error. consumed() is the
// compressed bytes read from `compressed`. Read from one thread, like any ByteStream.
std::unique_ptr<ByteStream> Decompressing(Compression compression, std::unique_ptr<ByteStream> compressed,
                                          InflateLimits limits = {});

// "gzip", "zstd" or "none".
std::string_view CompressionName(Compression compression);

}  // namespace dimstream
