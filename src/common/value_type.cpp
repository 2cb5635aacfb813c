#include "common/value_type.h"

#include "common/text.h"

#include <string>
#include <string_view>

#include <fmt/format.h>

namespace dimstream {
namespace {

constexpr int kMaxPrecision = 38;
constexpr const char* kAccepted = "text, bigint, double, decimal(p,s), boolean, date or timestamp";

void SkipSpaces(std::string_view s, size_t& pos) {
  while (pos < s.size() && s[pos] == ' ') {
    ++pos;
  }
}

// A run of digits as a number; saturates at 1000, far past any valid precision, so that a long run of
// digits cannot overflow and still reads as out of range.
bool ReadNumber(std::string_view s, size_t& pos, int& out) {
  size_t start = pos;
  int v = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    v = v >= 1000 ? 1000 : v * 10 + (s[pos] - '0');
    ++pos;
  }
  out = v;
  return pos > start;
}

Error NotAType(std::string_view name) {
  return Error::Invalid(fmt::format("\"{}\" is not a type: use {}", name, kAccepted));
}

// The inside of "decimal(...)": " p , s " with optional spaces.
Result<ColumnType> ParseDecimal(std::string_view name, std::string_view inside) {
  size_t pos = 0;
  int p = 0;
  int s = 0;
  SkipSpaces(inside, pos);
  bool ok = ReadNumber(inside, pos, p);
  SkipSpaces(inside, pos);
  ok = ok && pos < inside.size() && inside[pos] == ',';
  ++pos;
  SkipSpaces(inside, pos);
  ok = ok && ReadNumber(inside, pos, s);
  SkipSpaces(inside, pos);
  if (!ok || pos != inside.size()) {
    return Error::Invalid(fmt::format(
        "\"{}\" is not a type: write decimal(p,s) with a precision p of 1..{} digits and a scale s of 0..p",
        name, kMaxPrecision));
  }
  if (p < 1 || p > kMaxPrecision) {
    return Error::Invalid(
        fmt::format("\"{}\": the precision must be 1..{} digits, not {}", name, kMaxPrecision, p));
  }
  if (s > p) {
    return Error::Invalid(
        fmt::format("\"{}\": the scale must be 0..{} (at most the precision), not {}", name, p, s));
  }
  return ColumnType{TypeKind::kDecimal, static_cast<uint8_t>(p), static_cast<uint8_t>(s)};
}

}  // namespace

std::string ColumnType::Name() const {
  switch (kind) {
    case TypeKind::kText:
      return "text";
    case TypeKind::kBigint:
      return "bigint";
    case TypeKind::kDouble:
      return "double";
    case TypeKind::kDecimal:
      return fmt::format("decimal({},{})", precision, scale);
    case TypeKind::kBoolean:
      return "boolean";
    case TypeKind::kDate:
      return "date";
    case TypeKind::kTimestamp:
      return "timestamp";
  }
  return "text";
}

std::string ColumnType::SqlName() const {
  switch (kind) {
    case TypeKind::kText:
      return "VARCHAR";
    case TypeKind::kBigint:
      return "BIGINT";
    case TypeKind::kDouble:
      return "DOUBLE";
    case TypeKind::kDecimal:
      return fmt::format("DECIMAL({},{})", precision, scale);
    case TypeKind::kBoolean:
      return "BOOLEAN";
    case TypeKind::kDate:
      return "DATE";
    case TypeKind::kTimestamp:
      return "TIMESTAMP";
  }
  return "VARCHAR";
}

Result<ColumnType> ParseColumnType(std::string_view name) {
  std::string lower = AsciiLower(name);
  static constexpr struct {
    std::string_view name;
    TypeKind kind;
  } kPlain[] = {{"text", TypeKind::kText},     {"bigint", TypeKind::kBigint},
                {"double", TypeKind::kDouble}, {"boolean", TypeKind::kBoolean},
                {"date", TypeKind::kDate},     {"timestamp", TypeKind::kTimestamp}};
  for (const auto& plain : kPlain) {
    if (lower == plain.name) {
      return ColumnType{plain.kind, 0, 0};
    }
  }
  std::string_view l = lower;
  constexpr std::string_view kDecimal = "decimal(";
  if (l.size() > kDecimal.size() && l.substr(0, kDecimal.size()) == kDecimal && l.back() == ')') {
    return ParseDecimal(name, l.substr(kDecimal.size(), l.size() - kDecimal.size() - 1));
  }
  return NotAType(name);
}

}  // namespace dimstream
