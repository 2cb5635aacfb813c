#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/types.h"

namespace dimstream {

// Wall-clock time now, in microseconds since the epoch (UTC).
Micros NowMicros();

// "2025-01-08T11:11:11.000123Z" (microseconds shown only when non-zero).
std::string FormatTimestamp(Micros t);

// "20250108111111": the timestamp part of generated file names.
std::string FormatCompactTimestamp(Micros t);

// Parses an ISO-8601 timestamp: "YYYY-MM-DD", "YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]]" with an optional "Z" or
// "+HH[:MM]"/"-HH[:MM]" offset. With an offset it is converted to UTC, without one it is UTC.
// std::nullopt when it does not parse or names a date that does not exist.
std::optional<Micros> ParseTimestamp(std::string_view text);

}  // namespace dimstream
