#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/types.h"

namespace dimstream {

constexpr Micros kMicrosPerSecond = 1000000;
constexpr Micros kMicrosPerDay = 86400 * kMicrosPerSecond;
// The range of every date and timestamp dimstream accepts: the years 0001-9999 in UTC, as days since
// 1970-01-01 and as Micros.
constexpr int64_t kFirstDay = -719162;  // 0001-01-01
constexpr int64_t kLastDay = 2932896;   // 9999-12-31
constexpr Micros kMinTimestamp = kFirstDay * kMicrosPerDay;
constexpr Micros kMaxTimestamp = (kLastDay + 1) * kMicrosPerDay - 1;

// Wall-clock time now, in microseconds since the epoch (UTC).
Micros NowMicros();

// "2025-01-08T11:11:11.000123Z" (microseconds shown only when non-zero).
std::string FormatTimestamp(Micros t);

// "20250108111111": the timestamp part of generated file names.
std::string FormatCompactTimestamp(Micros t);

// Parses an ISO-8601 timestamp: "YYYY-MM-DD", "YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]]" with an optional "Z" or
// "+HH[:MM]"/"-HH[:MM]" offset. With an offset it is converted to UTC, without one it is UTC.
// std::nullopt when it does not parse, names a date that does not exist, or falls outside the years
// 0001-9999 in UTC (so "0000-01-01T00:00+01:00" is refused: it would print as year -1).
std::optional<Micros> ParseTimestamp(std::string_view text);

}  // namespace dimstream
