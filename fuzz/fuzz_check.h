#pragma once

// What the fuzz targets share: a check that survives NDEBUG and says what broke before aborting, so that
// libFuzzer records the input as a crash (crash-<sha1>) with the message above its stack trace.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace dimstream::fuzz {

[[noreturn]] inline void Fail(const char* file, int line, const char* what, const std::string& detail) {
  std::fprintf(stderr, "\n%s:%d: property violated: %s\n%s\n", file, line, what, detail.c_str());
  std::fflush(stderr);
  std::abort();
}

// The input as C-escaped text, cut at `max` bytes: for messages.
inline std::string Escaped(std::string_view s, size_t max = 200) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '\\' || c == '"') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    }
  }
  if (s.size() > max) {
    out += "...";
  }
  return "\"" + out + "\"";
}

}  // namespace dimstream::fuzz

#define FUZZ_CHECK(cond, detail)                                    \
  do {                                                              \
    if (!(cond)) {                                                  \
      ::dimstream::fuzz::Fail(__FILE__, __LINE__, #cond, (detail)); \
    }                                                               \
  } while (false)
