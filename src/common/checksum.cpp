#include "common/checksum.h"

#include "common/byte_stream.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

namespace dimstream {
namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

std::string Hex(const unsigned char* bytes, unsigned int n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (unsigned int i = 0; i < n; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return out;
}

MdCtx NewSha256() {
  MdCtx ctx(EVP_MD_CTX_new());
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  return ctx;
}

Checksum Finish(EVP_MD_CTX* ctx) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx, md, &n);
  return Checksum(Hex(md, n));
}

}  // namespace

Checksum Sha256(std::string_view bytes) {
  MdCtx ctx = NewSha256();
  EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size());
  return Finish(ctx.get());
}

Result<FileDigest> Sha256File(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    std::string what = "cannot read " + path.string() + ": " + std::strerror(err);
    return err == ENOENT ? Error::NotFound(what) : Error::Retryable(what);
  }
  MdCtx ctx = NewSha256();
  FileDigest digest;
  std::string block(1 << 20, '\0');
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    auto got = static_cast<size_t>(in.gcount());
    EVP_DigestUpdate(ctx.get(), block.data(), got);
    digest.size += got;
  }
  if (in.bad()) {
    return Error::Retryable("cannot read " + path.string() + ": I/O error");
  }
  digest.checksum = Finish(ctx.get());
  return digest;
}

Sha256Hasher::Sha256Hasher() : ctx_(NewSha256().release()) {}

Sha256Hasher::~Sha256Hasher() {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
}

void Sha256Hasher::Update(std::string_view bytes) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), bytes.data(), bytes.size());
}

Checksum Sha256Hasher::Finish() {
  return dimstream::Finish(static_cast<EVP_MD_CTX*>(ctx_));
}

Result<FileDigest> Sha256Stream(ByteStream& stream) {
  Sha256Hasher hasher;
  FileDigest digest;
  std::string block(1 << 20, '\0');
  while (true) {
    auto got = stream.Read(block.data(), block.size());
    if (!got.ok()) {
      return got.error();
    }
    if (*got == 0) {
      break;
    }
    hasher.Update(std::string_view(block.data(), *got));
    digest.size += *got;
  }
  digest.checksum = hasher.Finish();
  return digest;
}

}  // namespace dimstream
