#include "loader/decompress.h"

#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>

#include <fmt/format.h>

namespace dimstream {
namespace {

// Compressed bytes are read from the underlying stream this many at a time, and one decoder step writes at
// most this many bytes: the bomb guard looks at the counts after every step, so a caller's huge buffer
// cannot let one step run far past the limits.
constexpr size_t kBlock = size_t{256} << 10;

// The largest zstd window accepted, as a power of two (128 MiB, libzstd's own default and what `zstd
// --ultra -22` uses). The window is memory the decoder must allocate, so a frame may not choose it freely.
constexpr int kZstdWindowLogMax = 27;

// What the gzip and zstd streams share: reading compressed blocks, the end-of-input rules, the bomb guard
// and the sticky error. A codec implements one decoder step over the buffered input. Owned by whoever reads
// the decompressed object (the loader's record source); one thread.
class DecompressingStream : public ByteStream {
 public:
  DecompressingStream(std::string_view codec, std::unique_ptr<ByteStream> source, InflateLimits limits)
      : codec_(codec), source_(std::move(source)), limits_(limits), in_(new char[kBlock]) {}

  Result<size_t> Read(char* buffer, size_t size) final {
    if (failed_) {
      return *failed_;
    }
    auto r = Fill(buffer, size);
    if (!r.ok()) {
      failed_ = r.error();
    }
    return r;
  }

  uint64_t consumed() const final { return source_->consumed(); }

 protected:
  // Decodes from in_[in_pos_, in_len_) into out[0, n) (n >= 1), advancing in_pos_; returns the bytes
  // written. Sets pending_ when the decoder may hold output it could not write (out was filled), so that
  // it is called again before more input is read. Called with no input only when pending_ is set.
  virtual Result<size_t> Step(char* out, size_t n) = 0;
  // True between the first byte of a gzip member / zstd frame and its end: input ending there is truncated.
  virtual bool InUnit() const = 0;

  // Compressed bytes handed to the decoder so far: where in the file a problem was found.
  uint64_t decoded_in() const { return read_total_ - (in_len_ - in_pos_); }

  Error Corrupt(const std::string& what) const {
    return Error::Invalid(fmt::format("{} ({})", what, Where()));
  }
  // Where in the file a problem was found, for messages.
  virtual std::string Where() const { return fmt::format("at compressed byte {}", decoded_in()); }

  std::string_view codec_;
  const char* in_ptr() const { return in_.get() + in_pos_; }
  size_t in_avail() const { return in_len_ - in_pos_; }
  void Advance(size_t n) { in_pos_ += n; }
  bool pending_ = false;
  std::optional<Error> failed_;  // set once: every later Read returns it

 private:
  Result<size_t> Fill(char* buffer, size_t size) {
    size_t written = 0;
    int stalled = 0;  // decoder steps in a row that neither took input nor gave output
    while (written < size) {
      if (in_avail() == 0 && !pending_) {
        if (written > 0) {
          break;  // hand back what is there before reading (and maybe waiting for) another block
        }
        if (source_eof_) {
          return AtEnd();
        }
        auto n = source_->Read(in_.get(), kBlock);
        if (!n.ok()) {
          return n.error();  // the underlying stream's error, kind kept (kRetryable: the load is retried)
        }
        in_pos_ = 0;
        in_len_ = *n;
        read_total_ += *n;
        source_eof_ = *n == 0;
        continue;
      }
      size_t before = in_pos_;
      auto made = Step(buffer + written, std::min(size - written, kBlock));
      if (!made.ok()) {
        return made.error();
      }
      written += *made;
      produced_ += *made;
      DIMSTREAM_TRY(CheckRatio());
      stalled = (*made == 0 && in_pos_ == before) ? stalled + 1 : 0;
      if (stalled > 2) {
        // Neither zlib nor libzstd should do this; failing beats spinning forever on a hostile file.
        return Corrupt(fmt::format("the {} decoder stopped making progress", codec_));
      }
    }
    return written;
  }

  Result<size_t> AtEnd() const {
    if (read_total_ == 0) {
      return Error::Invalid(fmt::format("the file is empty, not a {} stream", codec_));
    }
    if (InUnit()) {
      return Error::Invalid(
          fmt::format("the {} stream is truncated after {} compressed bytes (was the file cut short?)",
                      codec_, read_total_));
    }
    return size_t{0};
  }

  // The bomb guard: past the free allowance, output may be at most max_ratio times the compressed bytes
  // decoded so far. Checked after every step, so a bomb is refused after a few blocks, not after its 10 GB.
  Status CheckRatio() const {
    if (produced_ <= limits_.free_bytes) {
      return Ok();
    }
    uint64_t in = decoded_in();
    bool over = limits_.max_ratio == 0 || (in <= std::numeric_limits<uint64_t>::max() / limits_.max_ratio &&
                                           produced_ > limits_.max_ratio * in);
    if (!over) {
      return Ok();
    }
    return Error::Invalid(fmt::format(
        "the {} stream inflates more than {} times ({:.1f} MB from {:.1f} KB read so far): refused "
        "as a likely decompression bomb; raise loader.max_inflate_ratio if the file is genuine",
        codec_, limits_.max_ratio, static_cast<double>(produced_) / 1e6, static_cast<double>(in) / 1e3));
  }

  std::unique_ptr<ByteStream> source_;
  InflateLimits limits_;
  std::unique_ptr<char[]> in_;  // one block of compressed input
  size_t in_pos_ = 0;
  size_t in_len_ = 0;
  uint64_t read_total_ = 0;  // compressed bytes read from source_
  uint64_t produced_ = 0;    // decompressed bytes handed to the caller
  bool source_eof_ = false;
};

// gzip (RFC 1952) through zlib's inflate in gzip-only mode. Members follow one another as gzip(1) reads
// them; anything after a member that is not another member is refused rather than ignored (gzip(1) only
// warns), since bytes appended to a data file are a sign that it is not what it claims to be.
class GzipStream final : public DecompressingStream {
 public:
  GzipStream(std::unique_ptr<ByteStream> source, InflateLimits limits)
      : DecompressingStream("gzip", std::move(source), limits) {
    // 16 + MAX_WBITS: a gzip header and trailer (CRC-32 and length checked), never a bare zlib stream.
    if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) {
      failed_ = Error::Retryable("cannot start decompressing gzip: out of memory");
      return;
    }
    initialized_ = true;
  }
  ~GzipStream() override {
    if (initialized_) {
      inflateEnd(&z_);
    }
  }
  GzipStream(const GzipStream&) = delete;
  GzipStream& operator=(const GzipStream&) = delete;

 private:
  Result<size_t> Step(char* out, size_t n) override {
    if (!in_member_) {
      if (members_ > 0) {
        inflateReset(&z_);
      }
      // header_.done tells whether an error is in the member's header (NotAMember) or in its data.
      header_ = gz_header{};
      inflateGetHeader(&z_, &header_);
      in_member_ = true;
      // zlib needs two bytes to tell a gzip magic; one is enough to tell that a file's last byte is not
      // another member, rather than calling the file truncated.
      if (static_cast<unsigned char>(*in_ptr()) != 0x1f) {
        return NotAMember("it does not start with the gzip magic bytes 1f 8b");
      }
    }
    // zlib does not write through next_in; its non-const type is only for old compilers.
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in_ptr()));
    z_.avail_in = static_cast<uInt>(in_avail());
    z_.next_out = reinterpret_cast<Bytef*>(out);
    z_.avail_out = static_cast<uInt>(n);
    int rc = inflate(&z_, Z_NO_FLUSH);
    Advance(in_avail() - z_.avail_in);
    size_t made = n - z_.avail_out;
    pending_ = z_.avail_out == 0;
    switch (rc) {
      case Z_OK:
      case Z_BUF_ERROR:  // no progress possible without more input or room: the caller provides either
        return made;
      case Z_STREAM_END:
        in_member_ = false;
        pending_ = false;
        ++members_;
        return made;
      case Z_MEM_ERROR:
        return Error::Retryable("out of memory while decompressing gzip");
      default:
        return DataError();
    }
  }

  bool InUnit() const override { return in_member_; }

  // An error where a member's header should be: at the start of the file it is no gzip at all; after a
  // member, the bytes there are not another member.
  Error NotAMember(const std::string& why) const {
    if (members_ == 0) {
      return Corrupt(fmt::format("the file is not a gzip stream ({}): is it really gzip-compressed?", why));
    }
    return Corrupt(
        fmt::format("the bytes after gzip member {} are not another gzip member ({}): the file is corrupt or "
                    "has something "
                    "appended",
                    members_, why));
  }

  Error DataError() const {
    std::string msg = z_.msg != nullptr ? z_.msg : "invalid data";
    if (header_.done != 1) {  // 0: in the header; -1: not a gzip header at all
      return NotAMember(msg);
    }
    if (msg == "incorrect data check") {
      return Corrupt("the gzip member's CRC-32 does not match its data: the file is corrupt");
    }
    if (msg == "incorrect length check") {
      return Corrupt("the gzip member's length (ISIZE) does not match its data: the file is corrupt");
    }
    return Corrupt(fmt::format("the gzip data is corrupt: {}", msg));
  }

  z_stream z_{};
  gz_header header_{};
  bool initialized_ = false;
  bool in_member_ = false;
  uint64_t members_ = 0;  // complete members so far
};

// zstd (RFC 8878) through ZSTD_decompressStream. Frames follow one another (skippable frames are skipped by
// libzstd); a frame's checksum, when it has one, is checked by libzstd at the frame's end.
class ZstdStream final : public DecompressingStream {
 public:
  ZstdStream(std::unique_ptr<ByteStream> source, InflateLimits limits)
      : DecompressingStream("zstd", std::move(source), limits), dctx_(ZSTD_createDCtx()) {
    if (dctx_ == nullptr ||
        ZSTD_isError(ZSTD_DCtx_setParameter(dctx_, ZSTD_d_windowLogMax, kZstdWindowLogMax))) {
      failed_ = Error::Retryable("cannot start decompressing zstd: out of memory");
    }
  }
  ~ZstdStream() override { ZSTD_freeDCtx(dctx_); }
  ZstdStream(const ZstdStream&) = delete;
  ZstdStream& operator=(const ZstdStream&) = delete;

 private:
  Result<size_t> Step(char* out, size_t n) override {
    if (!in_frame_ && in_avail() > 0) {
      in_frame_ = true;
      frame_start_ = decoded_in();
      head_len_ = 0;
      frame_out_ = 0;
    }
    // A frame's magic is fed alone and looked at before the rest (LegacyFrame).
    size_t feed = head_len_ < 4 ? std::min(in_avail(), 4 - head_len_) : in_avail();
    ZSTD_inBuffer in{in_ptr(), feed, 0};
    ZSTD_outBuffer o{out, n, 0};
    size_t rc = ZSTD_decompressStream(dctx_, &o, &in);
    size_t keep = std::min(in.pos, sizeof head_ - head_len_);
    std::memcpy(head_ + head_len_, in_ptr(), keep);
    head_len_ += keep;
    Advance(in.pos);
    if (ZSTD_isError(rc)) {
      return FrameError(ZSTD_getErrorCode(rc), ZSTD_getErrorName(rc));
    }
    if (head_len_ == 4 && in.pos > 0 && LegacyFrame()) {
      return LegacyError();
    }
    frame_out_ += o.pos;
    pending_ = o.pos == o.size;
    if (rc == 0 && in_frame_) {
      // 0: the frame is decoded and all its output written.
      DIMSTREAM_TRY(CheckContentSize());
      in_frame_ = false;
      pending_ = false;
      ++frames_;
    }
    return o.pos;
  }

  // libzstd 1.5.4's streaming decoder does not compare a frame's declared content size with what its blocks
  // held when the last block is empty (found by fuzz/decompress_fuzz.cpp; ZSTD_decompress does compare), so a
  // frame announcing 200 bytes and holding none would read as empty. Checked here for every frame.
  uint32_t Magic() const {
    if (head_len_ < 4) {
      return 0;
    }
    return static_cast<uint32_t>(head_[0]) | static_cast<uint32_t>(head_[1]) << 8 |
           static_cast<uint32_t>(head_[2]) << 16 | static_cast<uint32_t>(head_[3]) << 24;
  }
  bool Skippable() const { return (Magic() & 0xFFFFFFF0u) == 0x184D2A50u; }

  // libzstd still reads the formats of zstd 0.1 to 0.7 through separate, older decoders, which streamed and
  // one-shot disagree on (fuzz/decompress_fuzz.cpp found a v0.7 frame with a checksum that one reads and
  // the other refuses). Nothing has written them since 2016: they are refused rather than trusted, before
  // any of their bytes after the magic reach the decoder (magics of v0.2..v0.7, and v0.1's own).
  bool LegacyFrame() const {
    uint32_t m = Magic();
    return (m >= 0xFD2FB522u && m <= 0xFD2FB527u) || m == 0x1EB52FFDu;
  }

  Error LegacyError() const {
    return Corrupt(fmt::format(
        "zstd frame {} is in a legacy format (zstd before v0.8, 2016), which is not read: recompress "
        "the file with a current zstd",
        frames_ + 1));
  }

  Status CheckContentSize() const {
    if (Skippable()) {
      return Ok();  // no content
    }
    unsigned long long declared = ZSTD_getFrameContentSize(head_, head_len_);
    if (declared == ZSTD_CONTENTSIZE_UNKNOWN || declared == ZSTD_CONTENTSIZE_ERROR ||
        declared == frame_out_) {
      return Ok();
    }
    return Corrupt(fmt::format("zstd frame {} says it holds {} bytes but decodes to {}: the file is corrupt",
                               frames_ + 1, declared, frame_out_));
  }

  bool InUnit() const override { return in_frame_; }

  // libzstd reports an error without saying how much input it took, so the frame is the best place to name.
  std::string Where() const override {
    return fmt::format("in zstd frame {}, which starts at compressed byte {}", frames_ + 1, frame_start_);
  }

  Error FrameError(ZSTD_ErrorCode code, const char* name) const {
    switch (code) {
      case ZSTD_error_prefix_unknown:
        if (head_len_ == 4 && LegacyFrame()) {
          return LegacyError();  // libzstd tells legacy frames only from more than their magic
        }
        if (frames_ == 0) {
          return Corrupt(
              "the file is not a zstd stream: it does not start with a zstd frame (is it really "
              "zstd-compressed?)");
        }
        return Corrupt(fmt::format(
            "the bytes after zstd frame {} are not another zstd frame: the file is corrupt or has something "
            "appended",
            frames_));
      case ZSTD_error_checksum_wrong:
        return Corrupt("the zstd frame's checksum does not match: the file is corrupt");
      case ZSTD_error_frameParameter_windowTooLarge:
        return Corrupt(fmt::format(
            "a zstd frame needs a window larger than {} MiB, the most accepted (it would take that much "
            "memory): recompress it without --long, or with --long={} or less",
            (uint64_t{1} << kZstdWindowLogMax) >> 20, kZstdWindowLogMax));
      case ZSTD_error_dictionary_wrong:
        return Corrupt(
            "a zstd frame needs a dictionary, which the loader does not have: compress without -D");
      case ZSTD_error_memory_allocation:
        return Error::Retryable("out of memory while decompressing zstd");
      default:
        return Corrupt(fmt::format("the zstd data is corrupt: {}", name));
    }
  }

  ZSTD_DCtx* dctx_;
  bool in_frame_ = false;
  // The current frame's first bytes: its header (at most 18 bytes in RFC 8878: magic, descriptor, window,
  // dictionary id, content size).
  unsigned char head_[18];
  size_t head_len_ = 0;
  uint64_t frame_start_ = 0;  // where the current frame starts in the compressed bytes
  uint64_t frame_out_ = 0;    // bytes the current frame decoded to so far
  uint64_t frames_ = 0;       // complete frames so far
};

}  // namespace

std::unique_ptr<ByteStream> Decompressing(Compression compression, std::unique_ptr<ByteStream> compressed,
                                          InflateLimits limits) {
  switch (compression) {
    case Compression::kGzip:
      return std::make_unique<GzipStream>(std::move(compressed), limits);
    case Compression::kZstd:
      return std::make_unique<ZstdStream>(std::move(compressed), limits);
    case Compression::kNone:
      break;
  }
  return compressed;
}

std::string_view CompressionName(Compression compression) {
  switch (compression) {
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
    case Compression::kNone:
      break;
  }
  return "none";
}

}  // namespace dimstream
