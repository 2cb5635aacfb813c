// Fuzz target: ParseColumnType, ParseDatum and the order-preserving encoding (src/common/typed_value.h).
//
// Input: a type as the configuration spells it, a newline, then two texts separated by the next newline
// (without a second newline both texts are the same). "decimal(4,2)\n1.50\n15e-1" compares 1.50 and 15e-1.
//
// Properties, against references written here from SEMANTICS.md section 1 rather than from the code:
// - ParseColumnType refuses with kInvalidInput, or gives a type whose Name() parses back to it.
// - ParseDatum never crashes, accepts and refuses as the reference does (bigint by std::from_chars,
//   double by a grammar of its own and strtod, decimal by moving the point in the digit string, boolean
//   and date by hand, timestamp by ParseTimestamp), fills only the field of its type and, for what it
//   accepts, the value the reference reads.
// - When both texts parse, their encodings compare as the reference values do (memcmp order), are equal
//   exactly when the values are, are prefix-free (so a, b and b, a as two-column tuples compare as
//   tuples), have the type's fixed width, and OrderedFloor is monotonic (exact for widths up to 8).
// - A value written back as canonical text (Render) parses to the same encoding.

#include "common/typed_value.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/value_type.h"
#include "fuzz_check.h"

namespace {

using dimstream::ColumnType;
using dimstream::Datum;
using dimstream::ParseFailure;
using dimstream::TypeKind;
using dimstream::fuzz::Escaped;
using i128 = dimstream::Int128;
using u128 = dimstream::UInt128;

const char* Name(ParseFailure f) {
  switch (f) {
    case ParseFailure::kNone:
      return "none";
    case ParseFailure::kSyntax:
      return "syntax";
    case ParseFailure::kOutOfRange:
      return "out of range";
    case ParseFailure::kRounding:
      return "rounding";
  }
  return "?";
}

int Sign(int c) {
  return (c > 0) - (c < 0);
}

template <typename T>
int Compare(const T& a, const T& b) {
  return a < b ? -1 : b < a ? 1 : 0;
}

std::string_view Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) {
    return {};
  }
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

bool AllDigits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

std::string I128ToString(i128 v) {
  u128 u = v < 0 ? 0 - static_cast<u128>(v) : static_cast<u128>(v);
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  } while (u != 0);
  return v < 0 ? "-" + digits : digits;
}

// ---- references: what a value is, written from the type table -------------------------------------------

// What the reference makes of a text: accepted or why not, and a value to compare by.
struct Ref {
  ParseFailure failure = ParseFailure::kSyntax;
  int64_t i = 0;          // bigint, boolean, date (days), timestamp (micros)
  double d = 0;           // double
  bool negative = false;  // decimal: the sign of a non-zero value
  std::string int_part;   // decimal: digits before the point, no leading zeros ("" for |v| < 1)
  std::string frac;       // decimal: exactly `scale` digits after the point
  std::string_view text;  // text
};

// double and decimal: a state machine over [+-] (digits [. digits] | . digits) [e [+-] digits].
bool NumberGrammar(std::string_view s) {
  enum State { kStart, kSign, kInt, kDot, kFrac, kE, kESign, kExp, kFail } st = kStart;
  for (char c : s) {
    bool digit = c >= '0' && c <= '9';
    switch (st) {
      case kStart:
        st = (c == '+' || c == '-') ? kSign : digit ? kInt : c == '.' ? kDot : kFail;
        break;
      case kSign:
        st = digit ? kInt : c == '.' ? kDot : kFail;
        break;
      case kInt:
        st = digit ? kInt : c == '.' ? kDot : (c == 'e' || c == 'E') ? kE : kFail;
        break;
      case kDot:
        st = digit ? kFrac : kFail;
        break;
      case kFrac:
        st = digit ? kFrac : (c == 'e' || c == 'E') ? kE : kFail;
        break;
      case kE:
        st = (c == '+' || c == '-') ? kESign : digit ? kExp : kFail;
        break;
      case kESign:
      case kExp:
        st = digit ? kExp : kFail;
        break;
      case kFail:
        break;
    }
    if (st == kFail) {
      return false;
    }
  }
  return st == kInt || st == kFrac || st == kExp;
}

Ref RefBigint(std::string_view s) {
  Ref r;
  // from_chars takes a '-' but no '+': one sign, then only digits.
  std::string_view body = !s.empty() && s[0] == '+' ? s.substr(1) : s;
  std::string_view digits = !s.empty() && (s[0] == '+' || s[0] == '-') ? s.substr(1) : s;
  if (!AllDigits(digits)) {
    return r;
  }
  auto [ptr, ec] = std::from_chars(body.data(), body.data() + body.size(), r.i);
  if (ptr != body.data() + body.size()) {
    return r;
  }
  r.failure = ec == std::errc::result_out_of_range ? ParseFailure::kOutOfRange
              : ec == std::errc()                  ? ParseFailure::kNone
                                                   : ParseFailure::kSyntax;
  return r;
}

Ref RefDouble(std::string_view s) {
  Ref r;
  if (!NumberGrammar(s)) {
    return r;
  }
  std::string z(s);
  errno = 0;
  double v = std::strtod(z.c_str(), nullptr);
  bool nonzero_digit = false;
  for (char c : s) {
    if (c == 'e' || c == 'E') {
      break;
    }
    nonzero_digit = nonzero_digit || (c >= '1' && c <= '9');
  }
  if (std::isinf(v) || (v == 0 && nonzero_digit)) {
    r.failure = ParseFailure::kOutOfRange;
    return r;
  }
  r.failure = ParseFailure::kNone;
  r.d = v;
  return r;
}

// Moves the decimal point in the digit string itself, then counts digits on either side.
Ref RefDecimal(const ColumnType& type, std::string_view s) {
  Ref r;
  if (!NumberGrammar(s)) {
    return r;
  }
  size_t pos = 0;
  if (s[0] == '+' || s[0] == '-') {
    r.negative = s[0] == '-';
    pos = 1;
  }
  size_t e_at = s.find_first_of("eE");
  std::string_view mantissa =
      s.substr(pos, e_at == std::string_view::npos ? std::string_view::npos : e_at - pos);
  size_t dot = mantissa.find('.');
  std::string int_digits(mantissa.substr(0, dot));
  std::string frac_digits(dot == std::string_view::npos ? std::string_view() : mantissa.substr(dot + 1));
  bool zero = (int_digits + frac_digits).find_first_not_of('0') == std::string::npos;
  if (zero) {
    r.failure = ParseFailure::kNone;
    r.negative = false;
    r.frac.assign(type.scale, '0');
    return r;
  }
  // The exponent, when it is small enough to apply; beyond twice the input's length no digit string of
  // this input can bring a non-zero value back within 38 digits of the point.
  const int64_t bound = 2 * static_cast<int64_t>(s.size()) + 100;
  int64_t exponent = 0;
  if (e_at != std::string_view::npos) {
    std::string_view e = s.substr(e_at + 1);
    bool neg = !e.empty() && e[0] == '-';
    if (!e.empty() && (e[0] == '+' || e[0] == '-')) {
      e.remove_prefix(1);
    }
    size_t nz = e.find_first_not_of('0');
    e = nz == std::string_view::npos ? std::string_view() : e.substr(nz);
    if (e.size() > 12) {
      r.failure = neg ? ParseFailure::kRounding : ParseFailure::kOutOfRange;
      return r;
    }
    for (char c : e) {
      exponent = exponent * 10 + (c - '0');
    }
    if (exponent > bound) {
      r.failure = neg ? ParseFailure::kRounding : ParseFailure::kOutOfRange;
      return r;
    }
    exponent = neg ? -exponent : exponent;
  }
  for (; exponent > 0; --exponent) {
    int_digits.push_back(frac_digits.empty() ? '0' : frac_digits[0]);
    if (!frac_digits.empty()) {
      frac_digits.erase(0, 1);
    }
  }
  for (; exponent < 0; ++exponent) {
    frac_digits.insert(frac_digits.begin(), int_digits.empty() ? '0' : int_digits.back());
    if (!int_digits.empty()) {
      int_digits.pop_back();
    }
  }
  int_digits.erase(0, std::min(int_digits.find_first_not_of('0'), int_digits.size()));
  size_t last = frac_digits.find_last_not_of('0');
  frac_digits.resize(last == std::string::npos ? 0 : last + 1);
  if (int_digits.size() > static_cast<size_t>(type.precision - type.scale)) {
    r.failure = ParseFailure::kOutOfRange;
  } else if (frac_digits.size() > type.scale) {
    r.failure = ParseFailure::kRounding;
  } else {
    r.failure = ParseFailure::kNone;
    r.int_part = int_digits;
    r.frac = frac_digits + std::string(type.scale - frac_digits.size(), '0');
  }
  return r;
}

int RefDecimalCompare(const Ref& a, const Ref& b) {
  bool a_zero = a.int_part.empty() && a.frac.find_first_not_of('0') == std::string::npos;
  bool b_zero = b.int_part.empty() && b.frac.find_first_not_of('0') == std::string::npos;
  int sa = a_zero ? 0 : a.negative ? -1 : 1;
  int sb = b_zero ? 0 : b.negative ? -1 : 1;
  if (sa != sb) {
    return Compare(sa, sb);
  }
  int magnitude = a.int_part.size() != b.int_part.size()
                      ? Compare(a.int_part.size(), b.int_part.size())
                      : Sign((a.int_part + a.frac).compare(b.int_part + b.frac));
  return sa < 0 ? -magnitude : magnitude;
}

Ref RefBoolean(std::string_view s) {
  Ref r;
  std::string lower(s);
  for (char& c : lower) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (lower == "true" || lower == "t" || lower == "1" || lower == "yes") {
    r.failure = ParseFailure::kNone;
    r.i = 1;
  } else if (lower == "false" || lower == "f" || lower == "0" || lower == "no") {
    r.failure = ParseFailure::kNone;
    r.i = 0;
  }
  return r;
}

// Days since 1970-01-01 of a proleptic Gregorian date (the well-known "days from civil" algorithm).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

Ref RefDate(std::string_view s) {
  Ref r;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !AllDigits(s.substr(0, 4)) ||
      !AllDigits(s.substr(5, 2)) || !AllDigits(s.substr(8, 2))) {
    return r;
  }
  int y = std::atoi(std::string(s.substr(0, 4)).c_str());
  int m = std::atoi(std::string(s.substr(5, 2)).c_str());
  int d = std::atoi(std::string(s.substr(8, 2)).c_str());
  bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
  const int month_days[] = {31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1 || d > month_days[m - 1]) {
    return r;
  }
  if (y == 0) {
    r.failure = ParseFailure::kOutOfRange;
    return r;
  }
  r.failure = ParseFailure::kNone;
  r.i = DaysFromCivil(y, m, d);
  return r;
}

Ref Reference(const ColumnType& type, std::string_view text) {
  Ref r;
  if (type.kind == TypeKind::kText) {
    r.failure = ParseFailure::kNone;
    r.text = text;
    return r;
  }
  std::string_view s = Trim(text);
  if (s.empty()) {
    return r;
  }
  switch (type.kind) {
    case TypeKind::kText:
      break;
    case TypeKind::kBigint:
      return RefBigint(s);
    case TypeKind::kDouble:
      return RefDouble(s);
    case TypeKind::kDecimal:
      return RefDecimal(type, s);
    case TypeKind::kBoolean:
      return RefBoolean(s);
    case TypeKind::kDate:
      return RefDate(s);
    case TypeKind::kTimestamp: {
      // The type is defined as what ParseTimestamp accepts; its refusals are only told apart here by
      // where they can come from.
      std::optional<dimstream::Micros> t = dimstream::ParseTimestamp(s);
      r.failure = t ? ParseFailure::kNone : ParseFailure::kSyntax;
      r.i = t.value_or(0);
      return r;
    }
  }
  return r;
}

int RefCompare(const ColumnType& type, const Ref& a, const Ref& b) {
  switch (type.kind) {
    case TypeKind::kText:
      return Sign(a.text.compare(b.text));  // char_traits<char> compares bytes as unsigned char
    case TypeKind::kDouble:
      return Compare(a.d, b.d);  // -0.0 == 0.0 here, as it must be in the encoding
    case TypeKind::kDecimal:
      return RefDecimalCompare(a, b);
    default:
      return Compare(a.i, b.i);
  }
}

// ---- canonical text
// ----------------------------------------------------------------------------------------

std::string Render(const ColumnType& type, const Datum& d) {
  switch (type.kind) {
    case TypeKind::kText:
      return std::string(d.text);
    case TypeKind::kBigint:
      return std::to_string(d.i);
    case TypeKind::kDouble:
      return fmt::format("{}", d.d);  // shortest form that reads back as the same double
    case TypeKind::kDecimal: {
      i128 v = type.IsWideDecimal() ? d.wide : d.i;
      std::string digits = I128ToString(v < 0 ? -v : v);
      if (type.scale > 0) {
        if (digits.size() <= type.scale) {
          digits.insert(0, type.scale + 1 - digits.size(), '0');
        }
        digits.insert(digits.size() - type.scale, ".");
      }
      return (v < 0 ? "-" : "") + digits;
    }
    case TypeKind::kBoolean:
      return d.i != 0 ? "true" : "false";
    case TypeKind::kDate: {
      // civil from days, the inverse of DaysFromCivil
      int64_t z = d.i + 719468;
      int64_t era = (z >= 0 ? z : z - 146096) / 146097;
      int64_t doe = z - era * 146097;
      int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
      int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
      int64_t mp = (5 * doy + 2) / 153;
      int64_t day = doy - (153 * mp + 2) / 5 + 1;
      int64_t month = mp < 10 ? mp + 3 : mp - 9;
      int64_t year = yoe + era * 400 + (month <= 2);
      return fmt::format("{:04}-{:02}-{:02}", year, month, day);
    }
    case TypeKind::kTimestamp:
      return dimstream::FormatTimestamp(d.i);
  }
  return {};
}

size_t FixedWidth(const ColumnType& type) {
  switch (type.kind) {
    case TypeKind::kText:
      return 0;
    case TypeKind::kDate:
      return 4;
    case TypeKind::kBoolean:
      return 1;
    case TypeKind::kDecimal:
      return type.IsWideDecimal() ? 16 : 8;
    default:
      return 8;
  }
}

// ---- one text
// -----------------------------------------------------------------------------------------------

struct One {
  bool ok = false;
  Ref ref;
  Datum datum;
  std::string encoding;
};

One CheckOne(const ColumnType& type, std::string_view text) {
  One one;
  const std::string where = type.Name() + " " + Escaped(text);
  ParseFailure f = dimstream::ParseDatum(type, text, one.datum);
  one.ref = Reference(type, text);
  FUZZ_CHECK(!dimstream::DescribeExpected(type, f).empty(), where);
  if (type.kind == TypeKind::kTimestamp && one.ref.failure == ParseFailure::kSyntax) {
    // ParseTimestamp only says no; ParseDatum tells a year out of range from bad syntax on top of it.
    FUZZ_CHECK(f == ParseFailure::kSyntax || f == ParseFailure::kOutOfRange,
               where + ": ParseDatum says " + Name(f));
    FUZZ_CHECK(
        f != ParseFailure::kOutOfRange || (Trim(text).size() >= 10 && AllDigits(Trim(text).substr(0, 4))),
        where + ": out of range without a year");
    return one;
  }
  FUZZ_CHECK(f == one.ref.failure,
             where + ": ParseDatum says " + Name(f) + ", the reference " + Name(one.ref.failure));
  if (f != ParseFailure::kNone) {
    return one;
  }
  one.ok = true;
  const Datum& d = one.datum;
  // Only the type's own field is set.
  bool wide = type.IsWideDecimal();
  FUZZ_CHECK(type.kind == TypeKind::kText || d.text.empty(), where + ": text set");
  FUZZ_CHECK(type.kind == TypeKind::kDouble || d.d == 0, where + ": d set");
  FUZZ_CHECK(wide || d.wide == 0, where + ": wide set");
  FUZZ_CHECK(!wide || d.i == 0, where + ": i set for a wide decimal");
  FUZZ_CHECK(type.kind != TypeKind::kDouble || (std::isfinite(d.d) && !std::signbit(d.d) == !(d.d < 0)),
             where + ": double " + fmt::format("{}", d.d));
  // The value is the reference's.
  switch (type.kind) {
    case TypeKind::kText:
      FUZZ_CHECK(d.text.data() == text.data() && d.text.size() == text.size(),
                 where + ": text not the field");
      break;
    case TypeKind::kDouble:
      FUZZ_CHECK(d.d == one.ref.d, where + fmt::format(": {} but strtod reads {}", d.d, one.ref.d));
      break;
    case TypeKind::kDecimal: {
      std::string want = (one.ref.negative ? "-" : "") + (one.ref.int_part.empty() ? "0" : one.ref.int_part) +
                         (type.scale > 0 ? "." + one.ref.frac : "");
      FUZZ_CHECK(Render(type, d) == want,
                 where + ": " + Render(type, d) + " but the reference reads " + want);
      break;
    }
    default:
      FUZZ_CHECK(d.i == one.ref.i, where + fmt::format(": {} but the reference reads {}", d.i, one.ref.i));
  }
  dimstream::AppendOrderedBytes(type, d, one.encoding);
  size_t width = FixedWidth(type);
  FUZZ_CHECK(width == 0 || one.encoding.size() == width, where + ": encoding width");
  if (type.kind == TypeKind::kTimestamp) {
    FUZZ_CHECK(one.encoding == dimstream::OrderedTimestamp(d.i), where + ": OrderedTimestamp differs");
  }
  // The canonical text reads back as the same value.
  std::string rendered = Render(type, d);
  Datum again;
  ParseFailure f2 = dimstream::ParseDatum(type, rendered, again);
  FUZZ_CHECK(f2 == ParseFailure::kNone,
             where + ": rendered as " + Escaped(rendered) + ", which is " + Name(f2));
  std::string again_encoding;
  dimstream::AppendOrderedBytes(type, again, again_encoding);
  FUZZ_CHECK(again_encoding == one.encoding,
             where + ": rendered as " + Escaped(rendered) + ", another value");
  return one;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dimstream;  // NOLINT(google-build-using-namespace)
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string_view type_text = in.substr(0, nl);
  auto type = ParseColumnType(type_text);
  if (!type.ok()) {
    FUZZ_CHECK(type.error().kind == ErrorKind::kInvalidInput && !type.error().message.empty(),
               Escaped(type_text) + ": " + type.error().message);
    return 0;
  }
  auto again = ParseColumnType(type->Name());
  FUZZ_CHECK(again.ok() && *again == *type, Escaped(type_text) + " is named " + type->Name());
  FUZZ_CHECK(type->kind != TypeKind::kDecimal ||
                 (type->precision >= 1 && type->precision <= 38 && type->scale <= type->precision),
             type->Name());
  if (nl == std::string_view::npos) {
    return 0;
  }
  std::string_view rest = in.substr(nl + 1);
  size_t split = rest.find('\n');
  std::string_view a = rest.substr(0, split);
  std::string_view b = split == std::string_view::npos ? a : rest.substr(split + 1);

  One x = CheckOne(*type, a);
  One y = CheckOne(*type, b);
  if (!x.ok || !y.ok) {
    return 0;
  }
  const std::string where = type->Name() + " " + Escaped(a) + " vs " + Escaped(b);
  const int want = RefCompare(*type, x.ref, y.ref);
  const int got = Sign(x.encoding.compare(y.encoding));
  FUZZ_CHECK(got == want, where + fmt::format(": the encodings compare {}, the values {}", got, want));
  std::string sx, sy;
  FUZZ_CHECK((CanonicalBytes(*type, x.datum, sx) == CanonicalBytes(*type, y.datum, sy)) == (want == 0),
             where + ": CanonicalBytes");
  // Prefix-free: of two different encodings neither starts with the other.
  if (want != 0) {
    std::string_view shorter = x.encoding.size() <= y.encoding.size() ? x.encoding : y.encoding;
    std::string_view longer = x.encoding.size() <= y.encoding.size() ? y.encoding : x.encoding;
    FUZZ_CHECK(longer.substr(0, shorter.size()) != shorter,
               where + ": one encoding is a prefix of the other");
  }
  // (a, b) against (b, a) as two columns: the first column decides unless a == b.
  FUZZ_CHECK(Sign((x.encoding + y.encoding).compare(y.encoding + x.encoding)) == want, where + ": as tuples");
  uint64_t fx = OrderedFloor(x.encoding);
  uint64_t fy = OrderedFloor(y.encoding);
  FUZZ_CHECK(want > 0 || fx <= fy, where + ": OrderedFloor not monotonic");
  FUZZ_CHECK(want < 0 || fx >= fy, where + ": OrderedFloor not monotonic");
  if (FixedWidth(*type) != 0 && FixedWidth(*type) <= 8) {
    FUZZ_CHECK((fx == fy) == (want == 0), where + ": OrderedFloor not exact for a fixed width");
  }
  return 0;
}
