// Fuzz target: a whole object read the way the loader reads it (src/loader/source_factory.h): compressed,
// decompressed on the fly (Decompressing), read a block at a time (CsvSource, JsonLinesSource) and parsed in
// batches (ParseRecords with a sink), for the built-in customer entity. The input is the object's plain
// content; its first byte chooses the format (bit 0: CSV or JSON lines), the compression (bits 1-2: none,
// gzip, zstd), the block and read sizes (bits 3-5) and whether one byte of the compressed object is
// corrupted (bit 6, at a position the input's size picks).
//
// Properties: the streamed, batched parse of the compressed object gives exactly the rows (key, line,
// operation, hashes, text values) and rejects (line, reason) of one parse of the whole plain content, and
// every batch is within its bounds; a corrupted object either gives that same result (the byte did not
// matter) or fails as invalid input with a reason, never anything else; no crash, no leak.

#include <zlib.h>
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/entity.h"
#include "fuzz_check.h"
#include "loader/csv_source.h"
#include "loader/decompress.h"
#include "loader/json_source.h"
#include "loader/record_parser.h"

namespace {

using namespace dimstream;  // NOLINT(google-build-using-namespace)

std::string Gzip(std::string_view in) {
  z_stream z{};
  deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string Zstd(std::string_view in) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
  size_t n = ZSTD_compress2(c, out.data(), out.size(), in.data(), in.size());
  ZSTD_freeCCtx(c);
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

// What a parse gave, copied out of its batches.
struct Outcome {
  bool failed = false;
  std::vector<std::string> rows;  // one line of text per row: line, op, key id, hashes, text values
  std::vector<std::string> rejects;
  bool operator==(const Outcome&) const = default;
};

void Collect(const ParsedObject& p, Outcome& out) {
  for (size_t i = 0; i < p.rows.size(); ++i) {
    std::string row = std::to_string(p.rows.line[i]) + "|" + static_cast<char>(p.rows.op[i]) + "|" +
                      std::to_string(p.rows.key_id[i]) + "|" + std::to_string(p.rows.scd1_hash[i]) + "|" +
                      std::to_string(p.rows.scd2_hash[i]);
    for (const TypedColumn& c : p.rows.columns) {
      row += "|";
      if (c.type.kind == TypeKind::kText && c.valid[i]) {
        row += c.texts[i];  // reads the view: a dangling one is an ASan report
      }
    }
    out.rows.push_back(std::move(row));
  }
  for (const RejectedRow& r : p.rejects) {
    out.rejects.push_back(std::to_string(r.line) + "|" + r.reason);
  }
}

std::unique_ptr<RecordSource> Source(bool json, std::unique_ptr<ByteStream> in, size_t block) {
  if (json) {
    EntitySpec e;
    return std::make_unique<JsonLinesSource>(std::move(in), e.input_columns(), std::vector<std::string>{},
                                             uint64_t{1} << 20);
  }
  CsvOptions o;
  o.block_bytes = block;
  o.max_record_bytes = uint64_t{1} << 20;
  return std::make_unique<CsvSource>(std::move(in), o);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  const uint8_t flags = data[0];
  const bool json = (flags & 1) != 0;
  const int codec = (flags >> 1) & 3;
  const size_t block = size_t{1} << (((flags >> 3) & 7) + 2);  // 4 .. 512 bytes
  const bool corrupt = (flags & 0x40) != 0;
  std::string_view plain(reinterpret_cast<const char*>(data) + 1, size - 1);
  const EntitySpec entity;

  // The reference: the plain content whole, in one batch.
  Outcome expected;
  {
    ParsedObject whole;
    auto source = Source(json, std::make_unique<MemoryStream>(plain), size_t{1} << 20);
    (void)ParseRecords(*source, entity, {}, whole);
    expected.failed = whole.failed;
    if (!whole.failed) {
      Collect(whole, expected);
    }
  }

  Compression compression = codec == 1   ? Compression::kGzip
                            : codec == 2 ? Compression::kZstd
                                         : Compression::kNone;
  std::string stored = compression == Compression::kGzip   ? Gzip(plain)
                       : compression == Compression::kZstd ? Zstd(plain)
                                                           : std::string(plain);
  if (corrupt && !stored.empty()) {
    stored[size % stored.size()] ^= 0x5A;
  }
  InflateLimits limits{64, 1 << 20};
  auto stream = Decompressing(compression, std::make_unique<MemoryStream>(stored, block / 2 + 1), limits);
  auto source = Source(json, std::move(stream), block);
  ParseOptions options;
  options.batch_rows = 3;
  options.batch_bytes = 256;
  Outcome got;
  ParsedObject batched;
  Status st = ParseRecords(*source, entity, options, batched, [&](ParsedObject& b) -> Status {
    FUZZ_CHECK(b.rows.size() + b.rejects.size() <= options.batch_rows,
               "a batch of " + std::to_string(b.rows.size() + b.rejects.size()));
    Collect(b, got);
    return Ok();
  });
  FUZZ_CHECK(st.ok(), "the sink never fails, yet the parse did: " + st.error().message);
  got.failed = batched.failed;
  if (batched.failed) {
    FUZZ_CHECK(batched.failure_kind == ErrorKind::kInvalidInput && !batched.error.empty(),
               "a failed object is invalid input with a reason: " + batched.error);
    FUZZ_CHECK(corrupt || expected.failed, "an intact object failed: " + batched.error);
    return 0;
  }
  if (corrupt && compression == Compression::kNone) {
    return 0;  // a changed byte of a plain object is other content, with its own outcome
  }
  FUZZ_CHECK(!expected.failed && got.rows == expected.rows && got.rejects == expected.rejects,
             "the streamed parse differs from the whole parse: rows " + std::to_string(got.rows.size()) +
                 " vs " + std::to_string(expected.rows.size()) + ", rejects " +
                 std::to_string(got.rejects.size()) + " vs " + std::to_string(expected.rejects.size()) +
                 ", input " + dimstream::fuzz::Escaped(plain));
  return 0;
}
