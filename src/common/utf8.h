#pragma once

#include <string_view>

namespace dimstream {

// True when `s` is well-formed UTF-8 as Unicode defines it: shortest form only (no overlongs), no
// surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequence. The loader calls it on
// every field it accepts, so ASCII, the common case, is checked eight bytes at a time.
bool IsValidUtf8(std::string_view s);

}  // namespace dimstream
