#include "common/utf8.h"

#include <fmt/format.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace dimstream {

namespace {

constexpr uint64_t kHighBits = 0x8080808080808080ULL;

bool IsContinuation(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const unsigned char* const end = p + s.size();
  while (p < end) {
    if (end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, sizeof word);
      const uint64_t high = word & kHighBits;
      if (high == 0) {
        p += 8;
        continue;
      }
      if constexpr (std::endian::native == std::endian::little) {
        // Text with accents is mostly ASCII between its multi-byte letters: jump straight to the first one.
        p += std::countr_zero(high) / 8;
      }
    }
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    // The ranges of the second byte come from the table of well-formed sequences in the Unicode
    // standard (section 3.9, table 3-7): they are what rules out overlongs, surrogates and > U+10FFFF.
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    ptrdiff_t length = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      if (c == 0xE0) {
        lo = 0xA0;
      } else if (c == 0xED) {
        hi = 0x9F;
      }
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      if (c == 0xF0) {
        lo = 0x90;
      } else if (c == 0xF4) {
        hi = 0x8F;
      }
    } else {
      return false;  // a stray continuation byte, C0/C1 (always overlong) or F5..FF
    }
    if (end - p < length || p[1] < lo || p[1] > hi) {
      return false;
    }
    for (ptrdiff_t i = 2; i < length; ++i) {
      if (!IsContinuation(p[i])) {
        return false;
      }
    }
    p += length;
  }
  return true;
}

size_t Utf8CharLength(std::string_view s) {
  auto c = static_cast<unsigned char>(s[0]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  return n != 0 && n <= s.size() && IsValidUtf8(s.substr(0, n)) ? n : 0;
}

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  const bool utf8 = IsValidUtf8(s);
  size_t run = 0;  // start of the bytes not yet copied
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && (c < 0x80 || utf8)) {
      continue;
    }
    size_t n = c >= 0x80 ? Utf8CharLength(s.substr(i)) : 0;
    if (n > 0) {
      i += n - 1;
      continue;
    }
    out.append(s.substr(run, i - run));
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += c < 0x20 ? fmt::format("\\u{:04x}", c) : fmt::format("\\\\x{:02X}", c);
        break;
    }
  }
  out.append(s.substr(run));
  out += '"';
}

}  // namespace dimstream
