#include "common/typed_value.h"

#include <bit>
#include <cassert>
#include <charconv>
#include <chrono>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/text.h"

namespace dimstream {
namespace {

using u128 = UInt128;

constexpr uint64_t kSign64 = uint64_t{1} << 63;

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

ParseFailure ParseBigint(std::string_view s, int64_t& out) {
  size_t pos = 0;
  bool negative = false;
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    negative = s[pos] == '-';
    ++pos;
  }
  if (pos == s.size()) {
    return ParseFailure::kSyntax;
  }
  const uint64_t limit = negative ? kSign64 : kSign64 - 1;
  uint64_t v = 0;
  bool overflow = false;
  // To the end even after an overflow: "99999999999999999999x" is a syntax error, not a range error.
  for (; pos < s.size(); ++pos) {
    if (!IsDigit(s[pos])) {
      return ParseFailure::kSyntax;
    }
    auto digit = static_cast<uint64_t>(s[pos] - '0');
    if (overflow || v > (limit - digit) / 10) {
      overflow = true;
    } else {
      v = v * 10 + digit;
    }
  }
  if (overflow) {
    return ParseFailure::kOutOfRange;
  }
  // Unsigned negation, then the modular conversion of C++20: -2^63 needs no special case.
  out = static_cast<int64_t>(negative ? 0 - v : v);
  return ParseFailure::kNone;
}

// A number as double and decimal accept it: [+-] digits [. digits] or [+-] . digits, then an optional
// e[+-]digits. The exponent saturates at kExponentCap: far beyond any input's length, so that a saturated
// exponent still puts every non-zero digit out of range (or past the scale) exactly as the real one would,
// and a zero stays zero, without any arithmetic overflowing.
constexpr int64_t kExponentCap = int64_t{1} << 50;

struct NumberText {
  bool negative = false;
  std::string_view int_digits;
  std::string_view frac_digits;
  int64_t exponent = 0;
};

bool SplitNumber(std::string_view s, NumberText& out) {
  size_t pos = 0;
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    out.negative = s[pos] == '-';
    ++pos;
  }
  size_t start = pos;
  while (pos < s.size() && IsDigit(s[pos])) {
    ++pos;
  }
  out.int_digits = s.substr(start, pos - start);
  if (pos < s.size() && s[pos] == '.') {
    start = ++pos;
    while (pos < s.size() && IsDigit(s[pos])) {
      ++pos;
    }
    out.frac_digits = s.substr(start, pos - start);
    if (out.frac_digits.empty()) {
      return false;  // "1." and "." are not numbers in the grammar
    }
  } else if (out.int_digits.empty()) {
    return false;
  }
  if (pos < s.size() && (s[pos] == 'e' || s[pos] == 'E')) {
    ++pos;
    bool negative_exponent = false;
    if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
      negative_exponent = s[pos] == '-';
      ++pos;
    }
    start = pos;
    int64_t e = 0;
    while (pos < s.size() && IsDigit(s[pos])) {
      e = e >= kExponentCap ? kExponentCap : e * 10 + (s[pos] - '0');
      ++pos;
    }
    if (pos == start) {
      return false;
    }
    out.exponent = negative_exponent ? -e : e;
  }
  return pos == s.size();
}

ParseFailure ParseDouble(std::string_view s, double& out) {
  NumberText number;
  if (!SplitNumber(s, number)) {
    return ParseFailure::kSyntax;
  }
  // from_chars takes a '-' but no '+'; the grammar was checked above, so it never sees "inf", "nan" or hex.
  if (s.front() == '+') {
    s.remove_prefix(1);
  }
  double d = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d, std::chars_format::general);
  if (ec == std::errc::result_out_of_range) {
    return ParseFailure::kOutOfRange;  // overflow, or an underflow below the smallest subnormal
  }
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    return ParseFailure::kSyntax;
  }
  if (!std::isfinite(d)) {
    return ParseFailure::kOutOfRange;
  }
  // -0.0 == 0.0, so it must not encode differently.
  out = d == 0 ? 0.0 : d;
  return ParseFailure::kNone;
}

// Exact: the digits are read into an integer, never through floating point.
ParseFailure ParseDecimal(const ColumnType& type, std::string_view s, Datum& out) {
  // What ParseColumnType gives; a wider precision would not fit the 128 bits below.
  assert(type.precision <= 38 && type.scale <= type.precision);
  NumberText number;
  if (!SplitNumber(s, number)) {
    return ParseFailure::kSyntax;
  }
  // The digits int_digits + frac_digits as one run, the value being run * 10^(exponent - frac size).
  const size_t total = number.int_digits.size() + number.frac_digits.size();
  auto digit_at = [&](size_t k) {
    return k < number.int_digits.size() ? number.int_digits[k]
                                        : number.frac_digits[k - number.int_digits.size()];
  };
  size_t first = 0;
  while (first < total && digit_at(first) == '0') {
    ++first;
  }
  if (first == total) {
    return ParseFailure::kNone;  // zero, whatever its sign and exponent: out is already 0
  }
  size_t last = total - 1;
  while (digit_at(last) == '0') {
    --last;
  }
  // Now value = significant * 10^e10, significant being the n digits first..last (no leading or trailing
  // zeros). Input sizes are far below 2^50, so none of this overflows int64.
  const auto n = static_cast<int64_t>(last - first + 1);
  const int64_t e10 = number.exponent - static_cast<int64_t>(number.frac_digits.size()) +
                      static_cast<int64_t>(total - 1 - last);
  if (n + e10 > type.precision - type.scale) {
    return ParseFailure::kOutOfRange;
  }
  const int64_t shift = e10 + type.scale;
  if (shift < 0) {
    return ParseFailure::kRounding;  // the last significant digit lies past the scale and is not a zero
  }
  // n + shift <= precision <= 38 digits: below 10^38 < 2^127.
  u128 unscaled = 0;
  for (size_t k = first; k <= last; ++k) {
    unscaled = unscaled * 10 + static_cast<u128>(digit_at(k) - '0');
  }
  for (int64_t k = 0; k < shift; ++k) {
    unscaled *= 10;
  }
  const u128 signed_bits = number.negative ? 0 - unscaled : unscaled;
  if (type.IsWideDecimal()) {
    out.wide = static_cast<Int128>(signed_bits);
  } else {
    out.i = static_cast<int64_t>(static_cast<uint64_t>(signed_bits));
  }
  return ParseFailure::kNone;
}

ParseFailure ParseBoolean(std::string_view s, int64_t& out) {
  for (std::string_view t : {"true", "t", "1", "yes"}) {
    if (EqualsIgnoringCase(s, t)) {
      out = 1;
      return ParseFailure::kNone;
    }
  }
  for (std::string_view f : {"false", "f", "0", "no"}) {
    if (EqualsIgnoringCase(s, f)) {
      out = 0;
      return ParseFailure::kNone;
    }
  }
  return ParseFailure::kSyntax;
}

ParseFailure ParseDate(std::string_view s, int64_t& out) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') {
    return ParseFailure::kSyntax;
  }
  for (size_t k : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!IsDigit(s[k])) {
      return ParseFailure::kSyntax;
    }
  }
  auto number = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t k = pos; k < pos + len; ++k) {
      v = v * 10 + (s[k] - '0');
    }
    return v;
  };
  int y = number(0, 4);
  std::chrono::year_month_day ymd{std::chrono::year(y),
                                  std::chrono::month(static_cast<unsigned>(number(5, 2))),
                                  std::chrono::day(static_cast<unsigned>(number(8, 2)))};
  if (!ymd.ok()) {
    return ParseFailure::kSyntax;  // no such day (chrono's year 0 has one wherever 2000 has)
  }
  if (y == 0) {
    return ParseFailure::kOutOfRange;
  }
  out = std::chrono::sys_days(ymd).time_since_epoch().count();
  return ParseFailure::kNone;
}

bool IsLeapYear(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

ParseFailure ParseTimestampDatum(std::string_view s, int64_t& out) {
  if (s.empty()) {
    return ParseFailure::kSyntax;
  }
  if (std::optional<Micros> t = ParseTimestamp(s)) {
    out = *t;
    return ParseFailure::kNone;
  }
  // ParseTimestamp says only no. The text is out of range (not badly written) when it parses with its
  // year replaced by one in the middle of the range that has the same February: then only the year, or
  // an offset that moved the instant past 0001..9999, was wrong.
  if (s.size() < 5 || !IsDigit(s[0]) || !IsDigit(s[1]) || !IsDigit(s[2]) || !IsDigit(s[3]) || s[4] != '-') {
    return ParseFailure::kSyntax;
  }
  int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
  std::string moved(s);
  moved.replace(0, 4, IsLeapYear(y) ? "2000" : "2001");
  return ParseTimestamp(moved) ? ParseFailure::kOutOfRange : ParseFailure::kSyntax;
}

void AppendBigEndian(uint64_t v, int bytes, std::string& out) {
  for (int k = bytes - 1; k >= 0; --k) {
    out.push_back(static_cast<char>((v >> (8 * k)) & 0xFF));
  }
}

}  // namespace

ParseFailure ParseDatum(const ColumnType& type, std::string_view text, Datum& out) {
  out = Datum{};
  if (type.kind == TypeKind::kText) {
    out.text = text;
    return ParseFailure::kNone;
  }
  std::string_view s = TrimBlanks(text);
  if (s.empty()) {
    return ParseFailure::kSyntax;
  }
  switch (type.kind) {
    case TypeKind::kText:
      break;
    case TypeKind::kBigint:
      return ParseBigint(s, out.i);
    case TypeKind::kDouble:
      return ParseDouble(s, out.d);
    case TypeKind::kDecimal:
      return ParseDecimal(type, s, out);
    case TypeKind::kBoolean:
      return ParseBoolean(s, out.i);
    case TypeKind::kDate:
      return ParseDate(s, out.i);
    case TypeKind::kTimestamp:
      return ParseTimestampDatum(s, out.i);
  }
  return ParseFailure::kSyntax;
}

std::string DescribeExpected(const ColumnType& type, ParseFailure failure) {
  switch (type.kind) {
    case TypeKind::kText:
      return "text";
    case TypeKind::kBigint:
      return failure == ParseFailure::kOutOfRange ? "a bigint (out of range)" : "a bigint";
    case TypeKind::kDouble:
      return failure == ParseFailure::kOutOfRange ? "a double (out of range)" : "a double";
    case TypeKind::kDecimal: {
      std::string out = "a " + type.Name();
      const int before = type.precision - type.scale;
      if (failure == ParseFailure::kOutOfRange) {
        out += before == 0
                   ? " (no digits allowed before the point)"
                   : fmt::format(" (more than {} digit{} before the point)", before, before == 1 ? "" : "s");
      } else if (failure == ParseFailure::kRounding) {
        out += type.scale == 0 ? std::string(" (it would need rounding to a whole number)")
                               : fmt::format(" (it would need rounding to {} digit{} after the point)",
                                             type.scale, type.scale == 1 ? "" : "s");
      }
      return out;
    }
    case TypeKind::kBoolean:
      return "a boolean (true/false, t/f, 1/0 or yes/no)";
    case TypeKind::kDate:
      return failure == ParseFailure::kOutOfRange ? "a date (YYYY-MM-DD) of the years 0001-9999"
                                                  : "a date (YYYY-MM-DD)";
    case TypeKind::kTimestamp:
      return failure == ParseFailure::kOutOfRange ? "an ISO-8601 timestamp of the years 0001-9999 (in UTC)"
                                                  : "an ISO-8601 timestamp (like 2025-01-08T11:11:11Z)";
  }
  return "text";
}

void AppendOrderedBytes(const ColumnType& type, const Datum& value, std::string& out) {
  switch (type.kind) {
    case TypeKind::kText: {
      // 0x00 becomes 0x00 0xFF and the end is 0x00 0x00: a value that ends sorts before any longer one
      // (0x00 0x00 < 0x00 0xFF < 0x01..), and no encoding is a prefix of another.
      std::string_view rest = value.text;
      for (size_t nul = rest.find('\0'); nul != std::string_view::npos; nul = rest.find('\0')) {
        out.append(rest.data(), nul);
        out.append("\0\xFF", 2);
        rest.remove_prefix(nul + 1);
      }
      out.append(rest);
      out.append("\0\0", 2);
      return;
    }
    case TypeKind::kBigint:
    case TypeKind::kTimestamp:
      AppendBigEndian(static_cast<uint64_t>(value.i) ^ kSign64, 8, out);
      return;
    case TypeKind::kDecimal:
      if (type.IsWideDecimal()) {
        u128 bits = static_cast<u128>(value.wide) ^ (u128{1} << 127);
        AppendBigEndian(static_cast<uint64_t>(bits >> 64), 8, out);
        AppendBigEndian(static_cast<uint64_t>(bits), 8, out);
      } else {
        AppendBigEndian(static_cast<uint64_t>(value.i) ^ kSign64, 8, out);
      }
      return;
    case TypeKind::kDouble: {
      // IEEE 754 order: negative values grow as their bits shrink, so all of their bits are flipped.
      auto bits = std::bit_cast<uint64_t>(value.d);
      AppendBigEndian((bits & kSign64) != 0 ? ~bits : bits ^ kSign64, 8, out);
      return;
    }
    case TypeKind::kDate:
      AppendBigEndian(static_cast<uint32_t>(static_cast<int32_t>(value.i)) ^ 0x80000000U, 4, out);
      return;
    case TypeKind::kBoolean:
      out.push_back(value.i != 0 ? '\x01' : '\x00');
      return;
  }
}

bool HasCompactEncoding(const ColumnType& type) {
  return type.kind != TypeKind::kText && !type.IsWideDecimal();
}

Datum DecodeOrdered(const ColumnType& type, std::string_view encoding) {
  Datum d;
  uint64_t v = OrderedFloor(encoding);
  switch (type.kind) {
    case TypeKind::kBigint:
    case TypeKind::kTimestamp:
    case TypeKind::kDecimal:
      d.i = static_cast<int64_t>(v ^ kSign64);
      break;
    case TypeKind::kDouble: {
      uint64_t bits = (v & kSign64) != 0 ? v ^ kSign64 : ~v;
      d.d = std::bit_cast<double>(bits);
      break;
    }
    case TypeKind::kDate:
      d.i = static_cast<int32_t>(static_cast<uint32_t>(v >> 32) ^ 0x80000000U);
      break;
    case TypeKind::kBoolean:
      d.i = (v >> 56) != 0 ? 1 : 0;
      break;
    case TypeKind::kText:
      break;  // not compact
  }
  return d;
}

std::string OrderedTimestamp(Micros micros) {
  std::string out;
  AppendBigEndian(static_cast<uint64_t>(micros) ^ kSign64, 8, out);
  return out;
}

uint64_t OrderedFloor(std::string_view encoding) {
  uint64_t v = 0;
  for (size_t k = 0; k < 8; ++k) {
    v = (v << 8) | (k < encoding.size() ? static_cast<unsigned char>(encoding[k]) : 0U);
  }
  return v;
}

std::string_view CanonicalBytes(const ColumnType& type, const Datum& value, std::string& scratch) {
  if (type.kind == TypeKind::kText) {
    return value.text;
  }
  scratch.clear();
  AppendOrderedBytes(type, value, scratch);
  return scratch;
}

}  // namespace dimstream
