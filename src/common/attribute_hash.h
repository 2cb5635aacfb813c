#pragma once

// Inlined: the hash runs once per row on the load path, and the state type must be complete here.
#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

#include <cstdint>
#include <string_view>

namespace dimstream {

// NULL-safe hash of a sequence of nullable text values (the seed's MD5 change-detection columns, done
// so that NULL is a value like any other). A presence byte and a length before each value keep NULL,
// "" and shifted boundaries apart. XXH3-64: fast, and a collision needs ~2^32 distinct values of one key.
class AttributeHash {
 public:
  AttributeHash() { XXH3_64bits_reset(&state_); }
  void AddNull() {
    unsigned char absent = 0;
    XXH3_64bits_update(&state_, &absent, 1);
  }
  void Add(std::string_view value) {
    unsigned char present = 1;
    auto len = static_cast<uint32_t>(value.size());
    XXH3_64bits_update(&state_, &present, 1);
    XXH3_64bits_update(&state_, &len, sizeof(len));
    XXH3_64bits_update(&state_, value.data(), value.size());
  }
  uint64_t Digest() const { return XXH3_64bits_digest(&state_); }

 private:
  XXH3_state_t state_;
};

}  // namespace dimstream
