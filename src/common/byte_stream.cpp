#include "common/byte_stream.h"

#include <algorithm>
#include <cstring>

namespace dimstream {

Result<size_t> MemoryStream::Read(char* buffer, size_t size) {
  size_t n = std::min({size, max_read_, bytes_.size() - pos_});
  std::memcpy(buffer, bytes_.data() + pos_, n);
  pos_ += n;
  return n;
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
