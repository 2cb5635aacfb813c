// Fuzz target: IsValidUtf8 (src/common/utf8.h) against a byte-at-a-time validator written from the
// Unicode definition (Table 3-7, well-formed byte sequences). The real one checks ASCII eight bytes at a
// time; every offset into the input is tried so that the fast path meets every alignment.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/utf8.h"
#include "fuzz_check.h"

namespace {

bool Reference(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned c = b(i);
    size_t n = 0;
    unsigned lo = 0x80, hi = 0xBF;  // the range of the second byte
    if (c <= 0x7F) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
    } else if (c == 0xE0) {
      n = 3, lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      n = 3;
    } else if (c == 0xED) {
      n = 3, hi = 0x9F;
    } else if (c == 0xF0) {
      n = 4, lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      n = 4;
    } else if (c == 0xF4) {
      n = 4, hi = 0x8F;
    } else {
      return false;
    }
    if (i + n > s.size() || b(i + 1) < lo || b(i + 1) > hi) {
      return false;
    }
    for (size_t k = 2; k < n; ++k) {
      if (b(i + k) < 0x80 || b(i + k) > 0xBF) {
        return false;
      }
    }
    i += n;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (size_t off = 0; off < 8 && off <= in.size(); ++off) {
    std::string_view s = in.substr(off);
    bool real = dimstream::IsValidUtf8(s);
    FUZZ_CHECK(real == Reference(s), std::string("IsValidUtf8 says ") + (real ? "valid" : "invalid") +
                                         " for " + dimstream::fuzz::Escaped(s));
  }
  return 0;
}
