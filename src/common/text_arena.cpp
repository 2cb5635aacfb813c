#include "common/text_arena.h"

#include <algorithm>
#include <cstring>

namespace dimstream {

std::string_view TextArena::Keep(std::string_view bytes) {
  if (bytes.empty()) {
    return {};
  }
  if (blocks_.empty() || blocks_.back().size - blocks_.back().used < bytes.size()) {
    size_t size = std::max(kBlockBytes, bytes.size());
    blocks_.push_back(Block{std::make_unique<char[]>(size), size, 0});
  }
  Block& b = blocks_.back();
  char* at = b.data.get() + b.used;
  std::memcpy(at, bytes.data(), bytes.size());
  b.used += bytes.size();
  bytes_ += bytes.size();
  return {at, bytes.size()};
}

void TextArena::Clear() {
  if (blocks_.size() > 1) {
    blocks_.resize(1);
  }
  if (!blocks_.empty()) {
    blocks_.front().used = 0;
  }
  bytes_ = 0;
}

}  // namespace dimstream
