#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dimstream {

// True when `s` is well-formed UTF-8 as Unicode defines it: shortest form only (no overlongs), no
// surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequence. The loader calls it on
// every field it accepts, so ASCII, the common case, is checked eight bytes at a time.
bool IsValidUtf8(std::string_view s);

// Length of the well-formed UTF-8 character at the start of `s` (non-empty), or 0 if there is none.
size_t Utf8CharLength(std::string_view s);

// Appends `s` as a JSON string: quotes, backslashes and control characters escaped. Bytes that are not
// UTF-8 (a BLOB's) are written as the text \xNN, as a reject shows them, so that the result is always
// valid UTF-8.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace dimstream
