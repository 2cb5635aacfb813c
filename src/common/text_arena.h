#pragma once

#include <memory>
#include <string_view>
#include <vector>

namespace dimstream {

// Bytes copied into blocks that never move, so that views of them stay valid until Clear: a batch's text
// values, independent of the file buffers they were read from. One allocation per block, not per value.
class TextArena {
 public:
  std::string_view Keep(std::string_view bytes);
  // Frees every block but the first (kept for the next batch).
  void Clear();
  size_t bytes() const { return bytes_; }

 private:
  static constexpr size_t kBlockBytes = size_t{1} << 20;
  struct Block {
    std::unique_ptr<char[]> data;
    size_t size = 0;
    size_t used = 0;
  };
  std::vector<Block> blocks_;
  size_t bytes_ = 0;
};

}  // namespace dimstream
