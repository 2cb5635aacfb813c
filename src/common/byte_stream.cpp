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

}  // namespace dimstream
