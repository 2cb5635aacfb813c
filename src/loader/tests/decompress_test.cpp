#include "loader/decompress.h"

#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/testing/failing_stream.h"

namespace dimstream {
namespace {

// Test data is compressed here by the real libraries, so that the cases say what they are made of.

std::string Gzip(std::string_view data, int level = Z_DEFAULT_COMPRESSION) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// A gzip member of `total` zero bytes, compressed a MiB at a time (never `total` bytes in memory).
std::string GzipZeros(uint64_t total) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::string zeros(1 << 20, '\0');
  std::string out;
  char buf[1 << 16];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    uInt n = static_cast<uInt>(std::min<uint64_t>(total, zeros.size()));
    total -= n;
    z.next_in = reinterpret_cast<Bytef*>(zeros.data());
    z.avail_in = n;
    int flush = total == 0 ? Z_FINISH : Z_NO_FLUSH;
    do {
      z.next_out = reinterpret_cast<Bytef*>(buf);
      z.avail_out = sizeof buf;
      rc = deflate(&z, flush);
      out.append(buf, sizeof buf - z.avail_out);
    } while (z.avail_out == 0);
  }
  deflateEnd(&z);
  return out;
}

std::string Zstd(std::string_view data, int level = 3) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), level);
  EXPECT_FALSE(ZSTD_isError(n)) << ZSTD_getErrorName(n);
  out.resize(n);
  return out;
}

// A zstd frame with a content checksum (ZSTD_c_checksumFlag), as `zstd --check` writes by default.
std::string ZstdChecked(std::string_view data, int level = 3) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compress2(c, out.data(), out.size(), data.data(), data.size());
  EXPECT_FALSE(ZSTD_isError(n)) << ZSTD_getErrorName(n);
  out.resize(n);
  ZSTD_freeCCtx(c);
  return out;
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) {
    c = static_cast<char>(rng() & 0xff);
  }
  return s;
}

// Customer rows: compresses about as well as real CSV exports do (several times, not hundreds).
std::string CsvText(size_t rows, uint32_t seed) {
  static const char* kFirst[] = {"Mia", "Noah", "Zoë", "Liam", "Olivia", "Ana", "Kenji", "Fatima"};
  static const char* kCity[] = {"Davidside", "Lake Anna", "Porto", "Nairobi", "Osaka", "Lyon"};
  std::mt19937 rng(seed);
  std::string s = "customer_id,first_name,last_name,email,street,city,state,country,updated_at,op\n";
  for (size_t i = 0; i < rows; ++i) {
    s += fmt::format(
        "{},{},Moore{},u{}@example.com,{} Campbell Shores Apt. {},{},Wyoming,Chile,2024-01-{:02}T{:02}:"
        "00:00Z,upsert\n",
        i, kFirst[rng() % 8], rng() % 1000, rng() % 100000, rng() % 9999, rng() % 999, kCity[rng() % 6],
        1 + rng() % 28, rng() % 24);
  }
  return s;
}

std::unique_ptr<ByteStream> Open(Compression c, std::string_view bytes, size_t max_read = SIZE_MAX,
                                 InflateLimits limits = {}) {
  return Decompressing(c, std::make_unique<MemoryStream>(bytes, max_read), limits);
}

// Reads to the end `chunk` bytes at a time; the error if a Read fails (what came before is in `got`).
Result<std::string> ReadAll(ByteStream& s, size_t chunk, std::string* got = nullptr) {
  std::string out;
  std::vector<char> buf(chunk);
  for (;;) {
    auto n = s.Read(buf.data(), buf.size());
    if (!n.ok()) {
      if (got != nullptr) {
        *got = out;
      }
      return n.error();
    }
    if (*n == 0) {
      return out;
    }
    EXPECT_LE(*n, chunk);
    out.append(buf.data(), *n);
  }
}

Error ReadError(Compression c, std::string_view bytes, size_t chunk = 4096, InflateLimits limits = {}) {
  auto s = Open(c, bytes, SIZE_MAX, limits);
  auto r = ReadAll(*s, chunk);
  EXPECT_FALSE(r.ok()) << "read " << (r.ok() ? r->size() : 0) << " bytes without error";
  return r.ok() ? Error::Permanent("no error") : r.error();
}

struct Codec {
  Compression compression;
  std::string (*compress)(std::string_view);
};

class DecompressTest : public ::testing::TestWithParam<Codec> {
 protected:
  Compression c() const { return GetParam().compression; }
  std::string Compress(std::string_view data) const { return GetParam().compress(data); }
  std::string name() const { return std::string(CompressionName(c())); }
};

INSTANTIATE_TEST_SUITE_P(
    Codecs, DecompressTest,
    ::testing::Values(Codec{Compression::kGzip, [](std::string_view d) { return Gzip(d); }},
                      Codec{Compression::kZstd, [](std::string_view d) { return ZstdChecked(d); }}),
    [](const auto& p) { return std::string(CompressionName(p.param.compression)); });

TEST_P(DecompressTest, RoundTripsWithTinyAndBigReads) {
  const std::string text = CsvText(2000, 1);
  const std::string random = RandomBytes(300000, 2);
  for (const std::string* data : {&text, &random}) {
    std::string packed = Compress(*data);
    for (size_t max_read : {size_t{1}, size_t{13}, SIZE_MAX}) {
      for (size_t chunk : {size_t{1}, size_t{7}, size_t{65536}, size_t{4} << 20}) {
        if (max_read == 1 && chunk == 1 && data == &random) {
          continue;  // the slowest pairing adds nothing the text case does not cover
        }
        auto s = Open(c(), packed, max_read);
        auto r = ReadAll(*s, chunk);
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_TRUE(*r == *data) << "max_read " << max_read << " chunk " << chunk;
        EXPECT_EQ(s->consumed(), packed.size());
        // The end stays the end.
        char b;
        auto again = s->Read(&b, 1);
        ASSERT_TRUE(again.ok());
        EXPECT_EQ(*again, 0u);
      }
    }
  }
}

TEST_P(DecompressTest, BigObjectReadInBlocks) {
  // Larger than one 256 KiB input block and one output step, in both directions.
  std::string data = CsvText(100000, 3) + RandomBytes(3 << 20, 4);
  std::string packed = Compress(data);
  auto s = Open(c(), packed);
  auto r = ReadAll(*s, 1 << 20);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(*r == data);
}

TEST_P(DecompressTest, EmptyPayloadIsEmptyNotAnError) {
  std::string packed = Compress("");  // MemoryStream keeps a view: the bytes must outlive it
  auto s = Open(c(), packed);
  auto r = ReadAll(*s, 100);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, "");
}

TEST_P(DecompressTest, ConcatenatedMembersAreOneStream) {
  std::string a = CsvText(300, 5), b = RandomBytes(5000, 6), d = "last line\n";
  std::string packed = Compress(a) + Compress("") + Compress(b) + Compress(d);
  for (size_t chunk : {size_t{1}, size_t{4096}}) {
    auto s = Open(c(), packed, 17);
    auto r = ReadAll(*s, chunk);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(*r == a + b + d);
  }
}

TEST_P(DecompressTest, EveryTruncationIsAnError) {
  std::string data = CsvText(40, 7);
  std::string packed = Compress(data);
  ASSERT_GT(packed.size(), 100u);
  for (size_t cut = 1; cut < packed.size(); ++cut) {
    for (size_t chunk : {size_t{1}, size_t{1} << 16}) {
      auto s = Open(c(), std::string_view(packed).substr(0, cut));
      std::string got;
      auto r = ReadAll(*s, chunk, &got);
      ASSERT_FALSE(r.ok()) << "cut at " << cut << " of " << packed.size() << " read " << r->size()
                           << " bytes";
      EXPECT_EQ(r.error().kind, ErrorKind::kInvalidInput);
      EXPECT_NE(r.error().message.find("is truncated after " + std::to_string(cut) + " compressed bytes"),
                std::string::npos)
          << r.error().message;
      EXPECT_EQ(data.substr(0, got.size()), got) << "output before the error is not a prefix";
    }
  }
  // The second of two members cut short: still an error, not the first member's data alone.
  std::string two = Compress("first\n") + Compress(data);
  EXPECT_NE(ReadError(c(), two.substr(0, two.size() - 3)).message.find("truncated"), std::string::npos);
}

TEST_P(DecompressTest, EmptyFileIsRefused) {
  Error e = ReadError(c(), "");
  EXPECT_EQ(e.kind, ErrorKind::kInvalidInput);
  EXPECT_EQ(e.message, "the file is empty, not a " + name() + " stream");
}

TEST_P(DecompressTest, NotCompressedAtAllIsRefused) {
  Error e = ReadError(c(), "customer_id,first_name\n1,Mia\n");
  EXPECT_EQ(e.kind, ErrorKind::kInvalidInput);
  EXPECT_NE(e.message.find("the file is not a " + name() + " stream"), std::string::npos) << e.message;
}

TEST_P(DecompressTest, GarbageAfterTheEndIsRefused) {
  std::string data = CsvText(50, 8);
  for (std::string tail : {std::string("garbage\n"), std::string(1000, '\0'), std::string("x")}) {
    Error e = ReadError(c(), Compress(data) + tail);
    EXPECT_EQ(e.kind, ErrorKind::kInvalidInput);
    EXPECT_NE(
        e.message.find("are not another " + name() + (c() == Compression::kGzip ? " member" : " frame")),
        std::string::npos)
        << e.message;
  }
}

TEST_P(DecompressTest, ErrorsAreSticky) {
  std::string packed = Compress("hello\n") + "junk junk";
  auto s = Open(c(), packed);
  auto first = ReadAll(*s, 64);
  ASSERT_FALSE(first.ok());
  char b[8];
  for (int i = 0; i < 3; ++i) {
    auto again = s->Read(b, sizeof b);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().kind, first.error().kind);
    EXPECT_EQ(again.error().message, first.error().message);
  }
}

TEST_P(DecompressTest, UnderlyingErrorPassesThroughUnchanged) {
  std::string data = RandomBytes(200000, 9);
  std::string packed = Compress(data);
  for (size_t fail_at : {size_t{0}, size_t{5}, packed.size() / 2, packed.size() - 1}) {
    auto s =
        Decompressing(c(), std::make_unique<test_support::FailingStream>(
                               packed.substr(0, fail_at),
                               Error::Retryable("reading bucket/x.csv.gz: connection reset by peer"), 1000));
    std::string got;
    auto r = ReadAll(*s, 1000, &got);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::kRetryable);
    EXPECT_EQ(r.error().message, "reading bucket/x.csv.gz: connection reset by peer");
    EXPECT_EQ(data.substr(0, got.size()), got);
    char b;
    auto again = s->Read(&b, 1);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().kind, ErrorKind::kRetryable);
  }
}

TEST_P(DecompressTest, BombIsRefusedEarly) {
  const uint64_t kZeros = uint64_t{64} << 20;
  std::string packed;
  if (c() == Compression::kGzip) {
    packed = GzipZeros(kZeros);
  } else {
    packed = Zstd(std::string(kZeros, '\0'));
  }
  ASSERT_GT(kZeros / packed.size(), 100u);
  InflateLimits limits{.max_ratio = 100, .free_bytes = 1 << 20};
  auto s = Open(c(), packed, SIZE_MAX, limits);
  std::string got;
  std::vector<char> buf(1 << 16);
  uint64_t out = 0;
  Result<size_t> n = size_t{0};
  while ((n = s->Read(buf.data(), buf.size())).ok() && *n > 0) {
    out += *n;
  }
  ASSERT_FALSE(n.ok()) << "the bomb inflated to " << out << " bytes";
  EXPECT_EQ(n.error().kind, ErrorKind::kInvalidInput);
  EXPECT_NE(n.error().message.find("the " + name() + " stream inflates more than 100 times ("),
            std::string::npos)
      << n.error().message;
  EXPECT_NE(n.error().message.find("refused as a likely decompression bomb; raise loader.max_inflate_ratio"),
            std::string::npos)
      << n.error().message;
  // Tripped within a step or two of the free allowance, not at the end of the 64 MiB.
  EXPECT_LT(out, uint64_t{2} << 20);

  // The defaults let a 64 MiB bomb through (it is within the free allowance), not a bigger one.
  auto defaults = Open(c(), packed);
  auto all = ReadAll(*defaults, 1 << 20);
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ(all->size(), kZeros);
}

TEST_P(DecompressTest, GenuineTextPassesDefaultLimits) {
  // More than the 64 MiB free allowance, at a ratio real CSV has.
  std::string data;
  while (data.size() < (uint64_t{80} << 20)) {
    data += CsvText(20000, static_cast<uint32_t>(data.size()));
  }
  std::string packed = Compress(data);
  double ratio = static_cast<double>(data.size()) / static_cast<double>(packed.size());
  EXPECT_GT(ratio, 3);
  EXPECT_LT(ratio, 50);
  auto s = Open(c(), packed);
  auto r = ReadAll(*s, 1 << 20);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(*r == data);
}

TEST(DecompressGzipTest, FlippedTrailerByteIsRefused) {
  std::string data = CsvText(100, 10);
  std::string packed = Gzip(data);
  for (size_t back = 1; back <= 8; ++back) {
    std::string bad = packed;
    bad[bad.size() - back] = static_cast<char>(bad[bad.size() - back] ^ 0x20);
    Error e = ReadError(Compression::kGzip, bad);
    EXPECT_EQ(e.kind, ErrorKind::kInvalidInput);
    // The trailer is CRC-32 then ISIZE, 4 bytes each, little-endian.
    std::string want = back > 4
                           ? "the gzip member's CRC-32 does not match its data: the file is corrupt"
                           : "the gzip member's length (ISIZE) does not match its data: the file is corrupt";
    EXPECT_NE(e.message.find(want), std::string::npos) << back << ": " << e.message;
  }
}

TEST(DecompressGzipTest, FlippedPayloadByteIsRefused) {
  std::string data = CsvText(300, 11);
  std::string packed = Gzip(data);
  for (size_t at = 10; at + 8 < packed.size(); at += 37) {
    std::string bad = packed;
    bad[at] = static_cast<char>(bad[at] ^ 0x01);
    auto s = Open(Compression::kGzip, bad);
    auto r = ReadAll(*s, 4096);
    ASSERT_FALSE(r.ok()) << "flip at " << at;
    EXPECT_EQ(r.error().kind, ErrorKind::kInvalidInput);
  }
}

TEST(DecompressZstdTest, FlippedByteInCheckedFrameIsRefused) {
  // Incompressible data is stored in raw blocks: a flipped byte there changes only the content, which
  // the frame's checksum catches.
  std::string data = RandomBytes(100000, 12);
  std::string packed = ZstdChecked(data);
  for (size_t at : {packed.size() / 2, packed.size() - 1, packed.size() - 4}) {
    std::string bad = packed;
    bad[at] = static_cast<char>(bad[at] ^ 0x40);
    Error e = ReadError(Compression::kZstd, bad);
    EXPECT_EQ(e.kind, ErrorKind::kInvalidInput);
    EXPECT_NE(e.message.find("the zstd frame's checksum does not match: the file is corrupt"),
              std::string::npos)
        << at << ": " << e.message;
  }
  // Compressed blocks: a flip is caught as corruption or by the checksum, never read as data.
  std::string text = CsvText(500, 13);
  std::string packed_text = ZstdChecked(text);
  for (size_t at = 6; at < packed_text.size(); at += 23) {
    std::string bad = packed_text;
    bad[at] = static_cast<char>(bad[at] ^ 0x01);
    auto s = Open(Compression::kZstd, bad);
    auto r = ReadAll(*s, 4096);
    if (r.ok()) {
      // A flip in a frame header field that does not matter (none here but be exact): same data.
      EXPECT_TRUE(*r == text) << "flip at " << at << " read wrong data silently";
    } else {
      EXPECT_EQ(r.error().kind, ErrorKind::kInvalidInput);
    }
  }
}

TEST(DecompressZstdTest, FramesWithAndWithoutChecksumsAndSkippableFrames) {
  std::string a = CsvText(100, 14), b = RandomBytes(3000, 15);
  std::string skippable(8 + 5, 'S');
  // Magic 0x184D2A50 (little-endian), then a 4-byte length of 5 user bytes that decoders skip.
  const unsigned char head[8] = {0x50, 0x2A, 0x4D, 0x18, 5, 0, 0, 0};
  skippable.replace(0, 8, reinterpret_cast<const char*>(head), 8);
  std::string packed = Zstd(a, 1) + skippable + ZstdChecked(b, 19) + Zstd("", 3);
  auto s = Open(Compression::kZstd, packed, 3);
  auto r = ReadAll(*s, 5);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(*r == a + b);
}

TEST(DecompressZstdTest, HugeWindowIsRefused) {
  // A frame whose header asks for a 256 MiB window (unknown content size, so libzstd keeps it).
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, 28);
  std::string data = CsvText(10, 16);
  std::string out(ZSTD_compressBound(data.size()) + 64, '\0');
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  ASSERT_FALSE(ZSTD_isError(ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_continue)));
  ZSTD_inBuffer none{nullptr, 0, 0};
  ASSERT_EQ(ZSTD_compressStream2(cctx, &o, &none, ZSTD_e_end), 0u);
  ZSTD_freeCCtx(cctx);
  out.resize(o.pos);
  // The frame header descriptor (byte 4) has no single-segment flag, so byte 5 is the window descriptor:
  // exponent 18 (window log 10 + 18), mantissa 0.
  ASSERT_GT(out.size(), 6u);
  ASSERT_EQ(static_cast<unsigned char>(out[4]) & 0x20, 0);
  ASSERT_EQ(static_cast<unsigned char>(out[5]), 18 << 3);

  Error e = ReadError(Compression::kZstd, out);
  EXPECT_EQ(e.kind, ErrorKind::kInvalidInput);
  EXPECT_NE(e.message.find("a zstd frame needs a window larger than 128 MiB"), std::string::npos)
      << e.message;
}

TEST(DecompressZstdTest, DeclaredContentSizeIsChecked) {
  // Found by fuzz/decompress_fuzz.cpp: a frame whose header declares 200 bytes (single segment, checksum
  // flag) and whose only block is an empty last raw block, with the checksum of no bytes. libzstd's
  // streaming decoder does not notice the missing 200 bytes; the stream must.
  const unsigned char frame[] = {0x28, 0xB5, 0x2F, 0xFD, 0x24, 0xC8, 0x01,
                                 0x00, 0x00, 0x99, 0xE9, 0xD8, 0x51};
  std::string bytes(reinterpret_cast<const char*>(frame), sizeof frame);
  for (size_t chunk : {size_t{1}, size_t{1000}}) {
    auto s = Open(Compression::kZstd, bytes, 1);
    auto r = ReadAll(*s, chunk);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(
        r.error().message.find("zstd frame 1 says it holds 200 bytes but decodes to 0: the file is corrupt"),
        std::string::npos)
        << r.error().message;
  }
}

TEST(DecompressZstdTest, LegacyFormatIsRefused) {
  // The v0.7 magic (27 instead of 28) and a frame header: refused on the magic, whatever follows.
  std::string legacy("\x27\xB5\x2F\xFD\x04\x08\xE9\xB7\x71", 9);
  Error e = ReadError(Compression::kZstd, legacy);
  EXPECT_EQ(e.kind, ErrorKind::kInvalidInput);
  EXPECT_NE(e.message.find("zstd frame 1 is in a legacy format"), std::string::npos) << e.message;
  e = ReadError(Compression::kZstd, Zstd("ok\n") + legacy);
  EXPECT_NE(e.message.find("zstd frame 2 is in a legacy format"), std::string::npos) << e.message;
}

TEST(DecompressMiscTest, NoneReturnsTheSameStream) {
  auto inner = std::make_unique<MemoryStream>("plain");
  ByteStream* raw = inner.get();
  auto s = Decompressing(Compression::kNone, std::move(inner));
  EXPECT_EQ(s.get(), raw);
}

TEST(DecompressMiscTest, CompressionNames) {
  EXPECT_EQ(CompressionName(Compression::kNone), "none");
  EXPECT_EQ(CompressionName(Compression::kGzip), "gzip");
  EXPECT_EQ(CompressionName(Compression::kZstd), "zstd");
}

}  // namespace
}  // namespace dimstream
