#include "common/byte_stream.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace dimstream {

Result<size_t> MemoryStream::Read(char* buffer, size_t size) {
  size_t n = std::min({size, max_read_, bytes_.size() - pos_});
  std::memcpy(buffer, bytes_.data() + pos_, n);
  pos_ += n;
  return n;
}

FileStream::~FileStream() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

Result<size_t> FileStream::Read(char* buffer, size_t size) {
  while (true) {
    ssize_t got = ::read(fd_, buffer, size);
    if (got >= 0) {
      consumed_ += static_cast<uint64_t>(got);
      return static_cast<size_t>(got);
    }
    if (errno != EINTR) {
      return Error::Retryable(fmt::format("cannot read {}: {}", what_, std::strerror(errno)));
    }
  }
}

Result<std::string> ReadWhole(ByteStream& stream) {
  std::string out;
  constexpr size_t kBlock = 1 << 20;
  while (true) {
    size_t old = out.size();
    out.resize(old + kBlock);
    auto got = stream.Read(out.data() + old, kBlock);
    if (!got.ok()) {
      return got.error();
    }
    out.resize(old + *got);
    if (*got == 0) {
      return out;
    }
  }
}

}  // namespace dimstream
