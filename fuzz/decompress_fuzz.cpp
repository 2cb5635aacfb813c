// Fuzz target: Decompressing (src/loader/decompress.h), gzip and zstd. The input's first byte chooses the
// codec (bit 0: gzip or zstd) and seeds the read sizes (the other bits); the rest is the compressed object,
// read through a MemoryStream a few bytes at a time and decompressed with small limits (1 MiB free, ratio
// 64) into reads of varying size. Checks: Read never returns more than asked; the output stays within the
// limits (plus one decoder step); an error is kInvalidInput and every later Read returns it again; and the
// outcome agrees with a one-shot reference (zlib's inflate over the whole input, member after member, or
// ZSTD_decompress): what streams without error is exactly what the reference decodes, and what the
// reference decodes within the limits streams without error, except where the stream refuses on purpose
// (a bomb by its running ratio, a zstd window beyond 2^27, which one-shot decoding never needs, a legacy
// zstd format). Where the stream and ZSTD_decompress disagree, libzstd's streaming decoder fed a byte at a
// time decides: libzstd's own two decoders disagree on some degenerate frames.

#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "loader/decompress.h"

namespace {

using dimstream::Compression;

constexpr uint64_t kFree = uint64_t{1} << 20;
constexpr uint64_t kRatio = 64;
constexpr uint64_t kStep = uint64_t{256} << 10;  // the most one decoder step writes (decompress.cpp)

// The gzip reference: the whole input at once into one buffer of `cap` bytes; members one after the other,
// nothing after the last. nullopt when it is not valid gzip; `too_big` when it decodes past `cap`.
std::optional<std::string> GzipReference(std::string_view in, size_t cap, bool& too_big) {
  too_big = false;
  if (in.empty()) {
    return std::nullopt;
  }
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
    return std::nullopt;
  }
  std::unique_ptr<char[]> out(new char[cap]);  // not zeroed: filling a MiB per input halves the speed
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.get());
  z.avail_out = static_cast<uInt>(cap);
  std::optional<std::string> result;
  for (;;) {
    int rc = inflate(&z, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) {
        result = std::string(out.get(), cap - z.avail_out);
        break;
      }
      inflateReset(&z);
      continue;
    }
    if (rc == Z_OK && z.avail_out > 0) {
      continue;
    }
    too_big = (rc == Z_OK || rc == Z_BUF_ERROR) && z.avail_out == 0;
    break;
  }
  inflateEnd(&z);
  return result;
}

std::optional<std::string> ZstdReference(std::string_view in, size_t cap, bool& too_big) {
  too_big = false;
  if (in.empty()) {
    return std::nullopt;
  }
  std::unique_ptr<char[]> out(new char[cap]);
  size_t n = ZSTD_decompress(out.get(), cap, in.data(), in.size());
  if (ZSTD_isError(n)) {
    too_big = ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall;
    return std::nullopt;
  }
  return std::string(out.get(), n);
}

// libzstd's streaming decoder, fed one byte at a time into one buffer: the arbiter when the stream reads
// what ZSTD_decompress refuses. The two libzstd decoders disagree on some degenerate frames (a compressed
// block of size 0 is an empty block to the streaming one, corruption to the one-shot one, which streaming
// also uses when a whole frame sits in its input; an RLE block longer than the 128 KiB block maximum is
// corruption to the streaming one only); the stream must then agree with libzstd's streaming decoder.
std::optional<std::string> ZstdStreamingReference(std::string_view in, size_t cap) {
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, 27);
  std::unique_ptr<char[]> out(new char[cap]);
  ZSTD_outBuffer ob{out.get(), cap, 0};
  size_t rc = 0;
  bool ok = true;
  for (size_t i = 0; ok && i < in.size(); ++i) {
    ZSTD_inBuffer ib{in.data() + i, 1, 0};
    while (ok && ib.pos < ib.size) {
      rc = ZSTD_decompressStream(d, &ob, &ib);
      ok = !ZSTD_isError(rc) && ob.pos < cap;
    }
  }
  while (ok && rc != 0) {  // what the decoder still holds
    ZSTD_inBuffer none{nullptr, 0, 0};
    size_t before = ob.pos;
    rc = ZSTD_decompressStream(d, &ob, &none);
    ok = !ZSTD_isError(rc) && ob.pos > before && ob.pos < cap;
  }
  ZSTD_freeDCtx(d);
  if (!ok || in.empty()) {
    return std::nullopt;
  }
  return std::string(out.get(), ob.pos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  Compression codec = (data[0] & 1) != 0 ? Compression::kZstd : Compression::kGzip;
  uint32_t rng = 0x9E3779B9u ^ data[0];
  auto next = [&rng]() {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
  };
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t max_read = 1 + next() % 64;

  auto s = dimstream::Decompressing(codec, std::make_unique<dimstream::MemoryStream>(in, max_read),
                                    dimstream::InflateLimits{.max_ratio = kRatio, .free_bytes = kFree});
  static char buf[1 << 16];
  std::string out;
  std::optional<dimstream::Error> error;
  for (;;) {
    size_t want = (next() % 4 == 0) ? sizeof buf : 1 + next() % 300;
    auto n = s->Read(buf, want);
    FUZZ_CHECK(s->consumed() <= in.size(), "consumed " + std::to_string(s->consumed()));
    if (!n.ok()) {
      error = n.error();
      break;
    }
    FUZZ_CHECK(*n <= want, std::to_string(*n) + " bytes for a read of " + std::to_string(want));
    if (*n == 0) {
      break;
    }
    out.append(buf, *n);
    FUZZ_CHECK(out.size() <= kFree + kRatio * s->consumed() + kStep,
               std::to_string(out.size()) + " bytes out of " + std::to_string(s->consumed()));
  }
  if (error) {
    FUZZ_CHECK(error->kind == dimstream::ErrorKind::kInvalidInput, error->message);
    FUZZ_CHECK(!error->message.empty(), "an error without a message");
    for (int i = 0; i < 2; ++i) {
      auto again = s->Read(buf, 1 + next() % 100);
      FUZZ_CHECK(!again.ok(), "a read after the error returned " + std::to_string(*again) + " bytes");
      FUZZ_CHECK(again.error().kind == error->kind && again.error().message == error->message,
                 "first: " + error->message + "\nthen: " + again.error().message);
    }
  } else {
    auto again = s->Read(buf, 10);
    FUZZ_CHECK(again.ok() && *again == 0, "the end did not stay the end");
  }

  // Everything the stream could have produced without tripping the guard, and one byte more.
  size_t cap = static_cast<size_t>(kFree + kRatio * in.size() + kStep + 1);
  bool too_big = false;
  std::optional<std::string> ref =
      codec == Compression::kGzip ? GzipReference(in, cap, too_big) : ZstdReference(in, cap, too_big);
  bool on_purpose = error && (error->message.find("decompression bomb") != std::string::npos ||
                              error->message.find("needs a window larger than") != std::string::npos ||
                              error->message.find("is in a legacy format") != std::string::npos);
  // Where the stream and ZSTD_decompress disagree, libzstd's streaming decoder decides.
  if (codec == Compression::kZstd && !too_big && !on_purpose && error.has_value() == ref.has_value()) {
    ref = ZstdStreamingReference(in, cap);
  }
  if (!error) {
    FUZZ_CHECK(ref.has_value(), "the stream decoded " + std::to_string(out.size()) +
                                    " bytes, the reference refused " + dimstream::fuzz::Escaped(in));
    FUZZ_CHECK(*ref == out, "the stream decoded " + std::to_string(out.size()) + " bytes, the reference " +
                                std::to_string(ref->size()) + ", different");
  } else if (ref.has_value()) {
    FUZZ_CHECK(on_purpose, "the reference decoded " + std::to_string(ref->size()) +
                               " bytes, the stream refused: " + error->message);
  }
  return 0;
}
