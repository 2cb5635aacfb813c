#include "common/typed_value.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/value_type.h"

namespace dimstream {
namespace {

using ::testing::HasSubstr;
using namespace std::string_literals;  // NOLINT(google-build-using-namespace): "\0" inside texts

using i128 = Int128;

ColumnType Of(TypeKind kind) {
  return {kind, 0, 0};
}

ColumnType Decimal(int p, int s) {
  return {TypeKind::kDecimal, static_cast<uint8_t>(p), static_cast<uint8_t>(s)};
}

i128 Pow10(int n) {
  i128 v = 1;
  for (int k = 0; k < n; ++k) {
    v *= 10;
  }
  return v;
}

std::string ToString(i128 v) {
  if (v == 0) {
    return "0";
  }
  bool negative = v < 0;
  auto u = static_cast<UInt128>(v);
  if (negative) {
    u = 0 - u;
  }
  std::string digits;
  for (; u != 0; u /= 10) {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(u % 10)));
  }
  return negative ? "-" + digits : digits;
}

// The unscaled value `v` of a decimal with `scale` digits after the point, written as a person would.
std::string DecimalText(i128 v, int scale) {
  std::string digits = ToString(v < 0 ? -v : v);
  if (scale > 0) {
    if (digits.size() <= static_cast<size_t>(scale)) {
      digits.insert(0, static_cast<size_t>(scale) + 1 - digits.size(), '0');
    }
    digits.insert(digits.size() - static_cast<size_t>(scale), ".");
  }
  return (v < 0 ? "-" : "") + digits;
}

const char* FailureName(ParseFailure f) {
  switch (f) {
    case ParseFailure::kNone:
      return "kNone";
    case ParseFailure::kSyntax:
      return "kSyntax";
    case ParseFailure::kOutOfRange:
      return "kOutOfRange";
    case ParseFailure::kRounding:
      return "kRounding";
  }
  return "?";
}

std::string Encode(const ColumnType& type, const Datum& d) {
  std::string out;
  AppendOrderedBytes(type, d, out);
  return out;
}

// The encoding of `text`, which must parse.
std::string EncodeText(const ColumnType& type, std::string_view text) {
  Datum d;
  ParseFailure f = ParseDatum(type, text, d);
  EXPECT_EQ(f, ParseFailure::kNone) << type.Name() << " \"" << text << "\": " << FailureName(f);
  return Encode(type, d);
}

std::string Hex(std::string_view bytes) {
  std::string out;
  for (char c : bytes) {
    out += fmt::format("{:02x}", static_cast<unsigned char>(c));
  }
  return out;
}

int Sign(int c) {
  return (c > 0) - (c < 0);
}

// ---------------------------------------------------------------------------------------------------------
// ParseColumnType

TEST(ColumnTypeTest, AcceptsEverySpellingInAnyCase) {
  struct Case {
    std::string_view text;
    ColumnType want;
    std::string_view name;
    std::string_view sql;
  } cases[] = {
      {"text", Of(TypeKind::kText), "text", "VARCHAR"},
      {"TEXT", Of(TypeKind::kText), "text", "VARCHAR"},
      {"bigint", Of(TypeKind::kBigint), "bigint", "BIGINT"},
      {"BigInt", Of(TypeKind::kBigint), "bigint", "BIGINT"},
      {"double", Of(TypeKind::kDouble), "double", "DOUBLE"},
      {"boolean", Of(TypeKind::kBoolean), "boolean", "BOOLEAN"},
      {"Date", Of(TypeKind::kDate), "date", "DATE"},
      {"TIMESTAMP", Of(TypeKind::kTimestamp), "timestamp", "TIMESTAMP"},
      {"decimal(12,2)", Decimal(12, 2), "decimal(12,2)", "DECIMAL(12,2)"},
      {"DECIMAL( 12 , 2 )", Decimal(12, 2), "decimal(12,2)", "DECIMAL(12,2)"},
      {"Decimal(1,0)", Decimal(1, 0), "decimal(1,0)", "DECIMAL(1,0)"},
      {"decimal(38,38)", Decimal(38, 38), "decimal(38,38)", "DECIMAL(38,38)"},
      {"decimal(018,02)", Decimal(18, 2), "decimal(18,2)", "DECIMAL(18,2)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto t = ParseColumnType(c.text);
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_EQ(*t, c.want);
    EXPECT_EQ(t->Name(), c.name);
    EXPECT_EQ(t->SqlName(), c.sql);
  }
  EXPECT_EQ(ColumnType::Text(), Of(TypeKind::kText));
  EXPECT_EQ(ColumnType::Bigint(), Of(TypeKind::kBigint));
  EXPECT_EQ(ColumnType::Timestamp(), Of(TypeKind::kTimestamp));
}

TEST(ColumnTypeTest, RefusesOtherSpellingsSayingWhatIsAccepted) {
  const std::string_view kList = "text, bigint, double, decimal(p,s), boolean, date or timestamp";
  struct Case {
    std::string_view text;
    std::string_view message;  // a part of the message
  } cases[] = {
      {"varchar", kList},
      {"int", kList},
      {"", kList},
      {" bigint", kList},
      {"bigint ", kList},
      {"decimal", kList},
      {"decimal (10,2)", kList},
      {"numeric(10,2)", kList},
      {"decimal(10)", "write decimal(p,s) with a precision p of 1..38 digits and a scale s of 0..p"},
      {"decimal()", "write decimal(p,s)"},
      {"decimal(10,2", kList},
      {"decimal(10;2)", "write decimal(p,s)"},
      {"decimal(-1,2)", "write decimal(p,s)"},
      {"decimal(1 0,2)", "write decimal(p,s)"},
      {"decimal(10,2,1)", "write decimal(p,s)"},
      {"decimal(10,\t2)", "write decimal(p,s)"},
      {"decimal(0,0)", "the precision must be 1..38 digits, not 0"},
      {"decimal(39,2)", "the precision must be 1..38 digits, not 39"},
      {"decimal(99999999999999999999,2)", "the precision must be 1..38 digits"},
      {"decimal(5,6)", "the scale must be 0..5 (at most the precision), not 6"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto t = ParseColumnType(c.text);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().kind, ErrorKind::kInvalidInput);
    EXPECT_THAT(t.error().message, HasSubstr(c.message));
    EXPECT_THAT(t.error().message, HasSubstr("\"" + std::string(c.text) + "\""));
  }
}

TEST(ColumnTypeTest, NameParsesBackToTheSameType) {
  for (int p = 1; p <= 38; ++p) {
    for (int s = 0; s <= p; ++s) {
      ColumnType t = Decimal(p, s);
      auto again = ParseColumnType(t.Name());
      ASSERT_TRUE(again.ok()) << t.Name();
      EXPECT_EQ(*again, t);
      EXPECT_EQ(t.IsWideDecimal(), p > 18);
    }
  }
  for (TypeKind k : {TypeKind::kText, TypeKind::kBigint, TypeKind::kDouble, TypeKind::kBoolean,
                     TypeKind::kDate, TypeKind::kTimestamp}) {
    auto again = ParseColumnType(Of(k).Name());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, Of(k));
    EXPECT_FALSE(Of(k).IsWideDecimal());
  }
}

// ---------------------------------------------------------------------------------------------------------
// ParseDatum, type by type. Every case also checks that the fields the type does not use stay zero.

struct IntCase {
  std::string_view text;
  ParseFailure want;
  int64_t value = 0;  // Datum::i when it parses
};

void CheckIntCases(const ColumnType& type, const std::vector<IntCase>& cases) {
  for (const auto& c : cases) {
    SCOPED_TRACE(type.Name() + " \"" + std::string(c.text) + "\"");
    Datum d;
    d.i = 12345;  // ParseDatum must reset what it does not fill
    d.d = 1;
    ParseFailure f = ParseDatum(type, c.text, d);
    EXPECT_EQ(FailureName(f), std::string(FailureName(c.want)));
    if (f == ParseFailure::kNone && c.want == ParseFailure::kNone) {
      EXPECT_EQ(d.i, c.value);
      EXPECT_TRUE(d.wide == 0);
      EXPECT_EQ(d.d, 0);
      EXPECT_TRUE(d.text.empty());
    }
  }
}

constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

TEST(ParseDatumTest, Bigint) {
  using F = ParseFailure;
  CheckIntCases(Of(TypeKind::kBigint), {
                                           {"0", F::kNone, 0},
                                           {"-0", F::kNone, 0},
                                           {"+5", F::kNone, 5},
                                           {"-17", F::kNone, -17},
                                           {"  42\t", F::kNone, 42},
                                           {"\t 42 ", F::kNone, 42},
                                           {"0007", F::kNone, 7},
                                           {"00000000000000000000000000001", F::kNone, 1},
                                           {"9223372036854775807", F::kNone, kInt64Max},
                                           {"-9223372036854775808", F::kNone, kInt64Min},
                                           {"+9223372036854775807", F::kNone, kInt64Max},
                                           {"9223372036854775808", F::kOutOfRange},
                                           {"-9223372036854775809", F::kOutOfRange},
                                           {"18446744073709551616", F::kOutOfRange},
                                           {"99999999999999999999999999999", F::kOutOfRange},
                                           {"", F::kSyntax},
                                           {" \t ", F::kSyntax},
                                           {"+", F::kSyntax},
                                           {"-", F::kSyntax},
                                           {"--1", F::kSyntax},
                                           {"+-1", F::kSyntax},
                                           {"1.0", F::kSyntax},
                                           {"1e3", F::kSyntax},
                                           {"1 000", F::kSyntax},
                                           {"1_000", F::kSyntax},
                                           {"0x10", F::kSyntax},
                                           {"12a", F::kSyntax},
                                           {"- 1", F::kSyntax},
                                           {"1\n", F::kSyntax},
                                           {"\xD9\xA1", F::kSyntax},  // ARABIC-INDIC DIGIT ONE
                                           {"99999999999999999999x", F::kSyntax},
                                       });
}

TEST(ParseDatumTest, Double) {
  using F = ParseFailure;
  struct Case {
    std::string_view text;
    ParseFailure want;
    double value = 0;
  } cases[] = {
      {"1.5", F::kNone, 1.5},
      {"-2.25", F::kNone, -2.25},
      {"+3", F::kNone, 3},
      {".5", F::kNone, 0.5},
      {"-.5", F::kNone, -0.5},
      {"007.50", F::kNone, 7.5},
      {"1e3", F::kNone, 1000},
      {"1E-3", F::kNone, 0.001},
      {"2.5e+2", F::kNone, 250},
      {" 3\t", F::kNone, 3},
      {"0.1", F::kNone, 0.1},
      {"1.7976931348623157e308", F::kNone, std::numeric_limits<double>::max()},
      {"-1.7976931348623157e308", F::kNone, -std::numeric_limits<double>::max()},
      {"4.9e-324", F::kNone, std::numeric_limits<double>::denorm_min()},
      {"2.2250738585072014e-308", F::kNone, std::numeric_limits<double>::min()},
      {"0e999999999999999999999", F::kNone, 0},
      {"1e400", F::kOutOfRange},
      {"-1e400", F::kOutOfRange},
      {"1.7976931348623159e308", F::kOutOfRange},
      {"1e-400", F::kOutOfRange},
      {"1e99999999999999999999", F::kOutOfRange},
      {"", F::kSyntax},
      {"inf", F::kSyntax},
      {"-inf", F::kSyntax},
      {"Infinity", F::kSyntax},
      {"nan", F::kSyntax},
      {"NaN", F::kSyntax},
      {"0x1p3", F::kSyntax},
      {"1.", F::kSyntax},
      {".", F::kSyntax},
      {"-", F::kSyntax},
      {"e5", F::kSyntax},
      {"1e", F::kSyntax},
      {"1e+", F::kSyntax},
      {"1,5", F::kSyntax},
      {"1.5.2", F::kSyntax},
      {"1 5", F::kSyntax},
      {"++1", F::kSyntax},
      {"+-1", F::kSyntax},
      {"1d", F::kSyntax},
      {"1.5f", F::kSyntax},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string("\"") + std::string(c.text) + "\"");
    Datum d;
    ParseFailure f = ParseDatum(Of(TypeKind::kDouble), c.text, d);
    EXPECT_EQ(FailureName(f), std::string(FailureName(c.want)));
    if (f == ParseFailure::kNone && c.want == ParseFailure::kNone) {
      EXPECT_EQ(d.d, c.value);
      EXPECT_EQ(d.i, 0);
      EXPECT_TRUE(d.wide == 0);
    }
  }
}

TEST(ParseDatumTest, DoubleNegativeZeroIsZero) {
  for (std::string_view text : {"-0", "-0.0", "-0e10", "-.0", "0", "+0.000"}) {
    SCOPED_TRACE(text);
    Datum d;
    ASSERT_EQ(ParseDatum(Of(TypeKind::kDouble), text, d), ParseFailure::kNone);
    EXPECT_EQ(d.d, 0);
    EXPECT_FALSE(std::signbit(d.d));
    EXPECT_EQ(Encode(Of(TypeKind::kDouble), d), EncodeText(Of(TypeKind::kDouble), "0"));
  }
}

TEST(ParseDatumTest, NarrowDecimal) {
  using F = ParseFailure;
  CheckIntCases(Decimal(4, 2), {
                                   {"1.5", F::kNone, 150},
                                   {"1.50", F::kNone, 150},
                                   {"1.500000000000000000000000000000000", F::kNone, 150},
                                   {"-1.5", F::kNone, -150},
                                   {"+1", F::kNone, 100},
                                   {".5", F::kNone, 50},
                                   {"0.01", F::kNone, 1},
                                   {"-0.01", F::kNone, -1},
                                   {"99.99", F::kNone, 9999},
                                   {"-99.99", F::kNone, -9999},
                                   {"0000099.99", F::kNone, 9999},
                                   {" 12.3\t", F::kNone, 1230},
                                   {"1.5e1", F::kNone, 1500},
                                   {"15E-1", F::kNone, 150},
                                   {"150e-2", F::kNone, 150},
                                   {"0.0015e3", F::kNone, 150},
                                   {"1500000e-5", F::kNone, 1500},
                                   {"-0", F::kNone, 0},
                                   {"-0.00", F::kNone, 0},
                                   {"0.000000000", F::kNone, 0},
                                   {"0e999999999999999999999999", F::kNone, 0},
                                   {"-0e-999999999999999999999999", F::kNone, 0},
                                   {"1.505", F::kRounding},
                                   {"0.001", F::kRounding},
                                   {"0.0010", F::kRounding},
                                   {"1e-3", F::kRounding},
                                   {"1e-999999999999999999999999", F::kRounding},
                                   {"100", F::kOutOfRange},
                                   {"100.0", F::kOutOfRange},
                                   {"-100", F::kOutOfRange},
                                   {"1e2", F::kOutOfRange},
                                   {"123.456", F::kOutOfRange},  // out of range wins over rounding
                                   {"1e999999999999999999999999", F::kOutOfRange},
                                   {"", F::kSyntax},
                                   {"12,5", F::kSyntax},
                                   {"1.", F::kSyntax},
                                   {".", F::kSyntax},
                                   {"1e", F::kSyntax},
                                   {"inf", F::kSyntax},
                                   {"nan", F::kSyntax},
                                   {"0x10", F::kSyntax},
                                   {"1 .5", F::kSyntax},
                                   {"$1.50", F::kSyntax},
                               });
  CheckIntCases(Decimal(1, 0), {
                                   {"9", F::kNone, 9},
                                   {"-9", F::kNone, -9},
                                   {"9.0", F::kNone, 9},
                                   {"10", F::kOutOfRange},
                                   {"0.1", F::kRounding},
                               });
  CheckIntCases(Decimal(10, 2), {
                                    {"12345678.9", F::kNone, 1234567890},
                                    {"-12345678.99", F::kNone, -1234567899},
                                    {"123456789", F::kOutOfRange},
                                    {"12345678.991", F::kRounding},
                                });
  CheckIntCases(Decimal(18, 0), {
                                    {"999999999999999999", F::kNone, 999999999999999999},
                                    {"-999999999999999999", F::kNone, -999999999999999999},
                                    {"1000000000000000000", F::kOutOfRange},
                                });
  CheckIntCases(Decimal(18, 18), {
                                     {"0.999999999999999999", F::kNone, 999999999999999999},
                                     {"-0.999999999999999999", F::kNone, -999999999999999999},
                                     {"0.5", F::kNone, 500000000000000000},
                                     {"1", F::kOutOfRange},
                                     {"0.0000000000000000001", F::kRounding},
                                 });
}

TEST(ParseDatumTest, WideDecimalLimits) {
  using F = ParseFailure;
  struct Case {
    ColumnType type;
    std::string text;
    ParseFailure want;
    i128 value = 0;
  } cases[] = {
      {Decimal(38, 0), std::string(38, '9'), F::kNone, Pow10(38) - 1},
      {Decimal(38, 0), "-" + std::string(38, '9'), F::kNone, -(Pow10(38) - 1)},
      {Decimal(38, 0), "1" + std::string(38, '0'), F::kOutOfRange},
      {Decimal(38, 0), "1e38", F::kOutOfRange},
      {Decimal(38, 0), "1e37", F::kNone, Pow10(37)},
      {Decimal(38, 0), "9." + std::string(37, '9') + "e37", F::kNone, Pow10(38) - 1},
      {Decimal(38, 38), "0." + std::string(38, '9'), F::kNone, Pow10(38) - 1},
      {Decimal(38, 38), "-0." + std::string(38, '9'), F::kNone, -(Pow10(38) - 1)},
      {Decimal(38, 38), "0." + std::string(38, '9') + "0000", F::kNone, Pow10(38) - 1},
      {Decimal(38, 38), "0." + std::string(38, '9') + "1", F::kRounding},
      {Decimal(38, 38), "0.5", F::kNone, 5 * Pow10(37)},
      {Decimal(38, 38), "1", F::kOutOfRange},
      {Decimal(38, 38), "-0", F::kNone, 0},
      {Decimal(38, 10), "1234567890123456789012345678.0123456789", F::kNone,
       i128{1234567890123456789} * Pow10(19) + i128{12345678} * Pow10(10) + 123456789},
      {Decimal(19, 0), "9223372036854775808", F::kNone, i128{1} << 63},  // beyond int64: why 19+ is wide
      {Decimal(19, 0), "-9999999999999999999", F::kNone, -(Pow10(19) - 1)},
      {Decimal(19, 2), "12.345", F::kRounding},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.type.Name() + " \"" + c.text + "\"");
    Datum d;
    ParseFailure f = ParseDatum(c.type, c.text, d);
    EXPECT_EQ(FailureName(f), std::string(FailureName(c.want)));
    if (f == ParseFailure::kNone && c.want == ParseFailure::kNone) {
      EXPECT_EQ(ToString(d.wide), ToString(c.value));
      EXPECT_EQ(d.i, 0);
    }
  }
}

TEST(ParseDatumTest, Boolean) {
  using F = ParseFailure;
  CheckIntCases(Of(TypeKind::kBoolean),
                {
                    {"true", F::kNone, 1},      {"TRUE", F::kNone, 1},  {"True", F::kNone, 1},
                    {"t", F::kNone, 1},         {"T", F::kNone, 1},     {"1", F::kNone, 1},
                    {"yes", F::kNone, 1},       {"YeS", F::kNone, 1},   {" true\t", F::kNone, 1},
                    {"false", F::kNone, 0},     {"FALSE", F::kNone, 0}, {"f", F::kNone, 0},
                    {"F", F::kNone, 0},         {"0", F::kNone, 0},     {"no", F::kNone, 0},
                    {"NO", F::kNone, 0},        {"", F::kSyntax},       {"y", F::kSyntax},
                    {"n", F::kSyntax},          {"on", F::kSyntax},     {"off", F::kSyntax},
                    {"2", F::kSyntax},          {"01", F::kSyntax},     {"-1", F::kSyntax},
                    {"truee", F::kSyntax},      {"tru e", F::kSyntax},  {"true\n", F::kSyntax},
                    {"yes please", F::kSyntax},
                });
}

TEST(ParseDatumTest, Date) {
  using F = ParseFailure;
  CheckIntCases(Of(TypeKind::kDate), {
                                         {"1970-01-01", F::kNone, 0},
                                         {"1970-01-02", F::kNone, 1},
                                         {"1969-12-31", F::kNone, -1},
                                         {"2024-02-29", F::kNone, 19782},
                                         {"2000-02-29", F::kNone, 11016},
                                         {" 2024-01-01\t", F::kNone, 19723},
                                         {"0001-01-01", F::kNone, -719162},
                                         {"9999-12-31", F::kNone, 2932896},
                                         {"0000-01-01", F::kOutOfRange},
                                         {"0000-02-29", F::kOutOfRange},  // year 0 was a leap year
                                         {"", F::kSyntax},
                                         {"2023-02-29", F::kSyntax},
                                         {"1900-02-29", F::kSyntax},
                                         {"2024-13-01", F::kSyntax},
                                         {"2024-00-10", F::kSyntax},
                                         {"2024-01-00", F::kSyntax},
                                         {"2024-01-32", F::kSyntax},
                                         {"2024-04-31", F::kSyntax},
                                         {"2024-1-01", F::kSyntax},
                                         {"20240101", F::kSyntax},
                                         {"2024/01/01", F::kSyntax},
                                         {"2024-01-01T00:00", F::kSyntax},
                                         {"2024-01-01Z", F::kSyntax},
                                         {"10000-01-01", F::kSyntax},
                                         {"-001-01-01", F::kSyntax},
                                         {"+2024-01-01", F::kSyntax},
                                         {"2024-0a-01", F::kSyntax},
                                     });
}

TEST(ParseDatumTest, Timestamp) {
  using F = ParseFailure;
  const int64_t kDay = 86400LL * 1000000;
  CheckIntCases(Of(TypeKind::kTimestamp), {
                                              {"1970-01-01", F::kNone, 0},
                                              {"1970-01-02T00:00:00Z", F::kNone, kDay},
                                              {"\t1970-01-02 00:00\t", F::kNone, kDay},
                                              {"1970-01-02T01:00:00+01:00", F::kNone, kDay},
                                              {"1970-01-01T23:00:00-01:00", F::kNone, kDay},
                                              {"1969-12-31T23:59:59.999999Z", F::kNone, -1},
                                              {"0001-01-01T00:00:00Z", F::kNone, -62135596800LL * 1000000},
                                              {"", F::kSyntax},
                                              {"yesterday", F::kSyntax},
                                              {"2024-01-01T25:00", F::kSyntax},
                                              {"2024-01-01T10:00+", F::kSyntax},
                                              {"2023-02-29", F::kSyntax},
                                              {"0001-02-29", F::kSyntax},
                                              {"2024-01-01T00:00:00Zx", F::kSyntax},
                                              {"1704067200", F::kSyntax},
                                              {"0000-01-01", F::kOutOfRange},
                                              {"0000-02-29T12:00Z", F::kOutOfRange},
                                              {"0000-06-01T00:00Z", F::kOutOfRange},
                                              {"0001-01-01T00:00+01:00", F::kOutOfRange},
                                              {"9999-12-31T23:59:59-01:00", F::kOutOfRange},
                                          });
}

TEST(ParseDatumTest, TextIsTakenAsItIs) {
  for (std::string text : {""s, " a "s, "\t"s, "a\0b"s, "\xFF\xFE"s, "2024-01-01"s}) {
    Datum d;
    d.i = 7;
    ASSERT_EQ(ParseDatum(Of(TypeKind::kText), text, d), ParseFailure::kNone);
    EXPECT_EQ(d.text, text);
    EXPECT_EQ(d.text.data(), text.data());  // a view of the field, not a copy
    EXPECT_EQ(d.i, 0);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Equality (SEMANTICS.md section 1): equal typed values give equal bytes, different ones different bytes.

TEST(CanonicalBytesTest, EqualValuesWrittenDifferently) {
  struct Case {
    ColumnType type;
    std::vector<std::string_view> spellings;  // all the same value
  } cases[] = {
      {Decimal(4, 2), {"1.50", "1.5", "001.5000", "15e-1", "0.15E1", "+1.5"}},
      {Decimal(4, 2), {"0", "-0", "-0.00", "0e5", ".00"}},
      {Decimal(30, 4), {"-12.5", "-12.50000", "-1250e-2", "-0.0125e3"}},
      {Of(TypeKind::kTimestamp),
       {"2024-01-01T01:00:00+01:00", "2024-01-01T00:00:00Z", "2024-01-01", "2023-12-31T19:00-05:00",
        "2024-01-01 00:00:00.000000"}},
      {Of(TypeKind::kBoolean), {"true", "t", "1", "yes", "TRUE", "Yes", " T "}},
      {Of(TypeKind::kBoolean), {"false", "f", "0", "no", "False", "NO"}},
      {Of(TypeKind::kBigint), {"7", "+7", "007", " 7\t"}},
      {Of(TypeKind::kBigint), {"0", "-0", "+0", "000"}},
      {Of(TypeKind::kDouble), {"1", "1.0", "10e-1", "0.1e1", "+1.000"}},
      {Of(TypeKind::kDouble), {"0", "-0", "0.0", "-0.0e7"}},
      {Of(TypeKind::kDate), {"2024-03-01", " 2024-03-01"}},
  };
  for (const auto& c : cases) {
    std::string first_scratch;
    Datum first;
    ASSERT_EQ(ParseDatum(c.type, c.spellings[0], first), ParseFailure::kNone);
    std::string_view first_bytes = CanonicalBytes(c.type, first, first_scratch);
    for (std::string_view s : c.spellings) {
      SCOPED_TRACE(c.type.Name() + " \"" + std::string(s) + "\"");
      Datum d;
      ASSERT_EQ(ParseDatum(c.type, s, d), ParseFailure::kNone);
      std::string scratch;
      EXPECT_EQ(Hex(CanonicalBytes(c.type, d, scratch)), Hex(first_bytes));
      EXPECT_EQ(Hex(Encode(c.type, d)), Hex(Encode(c.type, first)));
    }
  }
}

TEST(CanonicalBytesTest, DifferentValuesDiffer) {
  struct Case {
    ColumnType type;
    std::string a;
    std::string b;
  } cases[] = {
      {Decimal(4, 2), "1.5", "1.51"},
      {Decimal(4, 2), "1.5", "-1.5"},
      {Decimal(30, 2), "0.01", "-0.01"},
      {Of(TypeKind::kTimestamp), "2024-01-01T00:00:00Z", "2024-01-01T00:00:00.000001Z"},
      {Of(TypeKind::kTimestamp), "2024-01-01T00:00:00", "2024-01-01T00:00:00+00:01"},
      {Of(TypeKind::kBoolean), "true", "false"},
      {Of(TypeKind::kBigint), "-1", "1"},
      {Of(TypeKind::kDouble), "0.1", "0.10000000000000002"},
      {Of(TypeKind::kDate), "2024-01-01", "2024-01-02"},
      {Of(TypeKind::kText), "a", "a "},
      {Of(TypeKind::kText), "a", "A"},
      {Of(TypeKind::kText), "a"s, "a\0"s},
      {Of(TypeKind::kText), ""s, "\0"s},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.type.Name() + " " + Hex(c.a) + " vs " + Hex(c.b));
    Datum a, b;
    ASSERT_EQ(ParseDatum(c.type, c.a, a), ParseFailure::kNone);
    ASSERT_EQ(ParseDatum(c.type, c.b, b), ParseFailure::kNone);
    std::string sa, sb;
    EXPECT_NE(CanonicalBytes(c.type, a, sa), CanonicalBytes(c.type, b, sb));
  }
}

TEST(CanonicalBytesTest, TextIsTheFieldItselfAndOthersTheEncoding) {
  std::string field = "x\0y"s;
  Datum d;
  ASSERT_EQ(ParseDatum(Of(TypeKind::kText), field, d), ParseFailure::kNone);
  std::string scratch = "untouched";
  std::string_view bytes = CanonicalBytes(Of(TypeKind::kText), d, scratch);
  EXPECT_EQ(bytes.data(), field.data());
  EXPECT_EQ(bytes.size(), 3U);

  Datum n;
  ASSERT_EQ(ParseDatum(Of(TypeKind::kBigint), "5", n), ParseFailure::kNone);
  scratch = "left over from an earlier value";
  EXPECT_EQ(Hex(CanonicalBytes(Of(TypeKind::kBigint), n, scratch)), "8000000000000005");
}

// ---------------------------------------------------------------------------------------------------------
// The encoding: exact bytes, then the order property on random values.

TEST(OrderedBytesTest, ExactBytes) {
  struct Case {
    ColumnType type;
    std::string text;
    std::string_view hex;
  } cases[] = {
      {Of(TypeKind::kBigint), "0", "8000000000000000"},
      {Of(TypeKind::kBigint), "-1", "7fffffffffffffff"},
      {Of(TypeKind::kBigint), "-9223372036854775808", "0000000000000000"},
      {Of(TypeKind::kBigint), "9223372036854775807", "ffffffffffffffff"},
      {Of(TypeKind::kBigint), "258", "8000000000000102"},
      {Of(TypeKind::kTimestamp), "1970-01-01T00:00:00.000001Z", "8000000000000001"},
      {Of(TypeKind::kDouble), "1", "bff0000000000000"},   // 0x3ff0... with the sign bit set
      {Of(TypeKind::kDouble), "-1", "400fffffffffffff"},  // ~0xbff0...
      {Of(TypeKind::kDouble), "0", "8000000000000000"},
      {Of(TypeKind::kDouble), "-0", "8000000000000000"},
      {Decimal(4, 2), "-0.01", "7fffffffffffffff"},
      {Decimal(4, 2), "1.5", "8000000000000096"},
      {Decimal(20, 0), "1", "80000000000000000000000000000001"},
      {Decimal(20, 0), "-1", "7fffffffffffffffffffffffffffffff"},
      {Decimal(38, 0), "18446744073709551616", "80000000000000010000000000000000"},
      {Of(TypeKind::kDate), "1970-01-01", "80000000"},
      {Of(TypeKind::kDate), "1969-12-31", "7fffffff"},
      {Of(TypeKind::kBoolean), "true", "01"},
      {Of(TypeKind::kBoolean), "no", "00"},
      {Of(TypeKind::kText), "", "0000"},
      {Of(TypeKind::kText), "a", "610000"},
      {Of(TypeKind::kText), "a\0b"s, "6100ff620000"},
      {Of(TypeKind::kText), "\0\0"s, "00ff00ff0000"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.type.Name() + " \"" + c.text + "\"");
    EXPECT_EQ(Hex(EncodeText(c.type, c.text)), c.hex);
  }
}

TEST(OrderedBytesTest, AppendsToWhatIsThere) {
  Datum d;
  ASSERT_EQ(ParseDatum(Of(TypeKind::kBoolean), "t", d), ParseFailure::kNone);
  std::string out = "prefix";
  AppendOrderedBytes(Of(TypeKind::kBoolean), d, out);
  EXPECT_EQ(out, "prefix\x01"s);
}

TEST(OrderedBytesTest, OrderedTimestampIsTheTimestampEncoding) {
  for (Micros m : {Micros{0}, Micros{-1}, Micros{1}, kInt64Min, kInt64Max, Micros{1704067200000000}}) {
    Datum d;
    d.i = m;
    EXPECT_EQ(OrderedTimestamp(m), Encode(ColumnType::Timestamp(), d));
  }
}

// `less` is the reference order on `values`; `render` writes a value as text for ParseDatum.
template <typename Value, typename Less>
void CheckOrder(const ColumnType& type, const std::vector<Value>& values,
                const std::function<std::string(const Value&)>& render, Less less) {
  std::vector<std::string> encodings;
  encodings.reserve(values.size());
  for (const Value& v : values) {
    std::string text = render(v);
    encodings.push_back(EncodeText(type, text));
  }
  // Every pair: the encodings compare as the values do.
  for (size_t a = 0; a < values.size(); ++a) {
    for (size_t b = 0; b < values.size(); ++b) {
      int want = less(values[a], values[b]) ? -1 : less(values[b], values[a]) ? 1 : 0;
      int got = Sign(encodings[a].compare(encodings[b]));
      ASSERT_EQ(got, want) << type.Name() << ": " << render(values[a]) << " vs " << render(values[b]) << " ("
                           << Hex(encodings[a]) << " vs " << Hex(encodings[b]) << ")";
      if (got <= 0) {
        ASSERT_LE(OrderedFloor(encodings[a]), OrderedFloor(encodings[b]));
      }
    }
  }
  // Sorting by encoding sorts by value.
  std::vector<size_t> by_encoding(values.size());
  for (size_t k = 0; k < by_encoding.size(); ++k) {
    by_encoding[k] = k;
  }
  std::sort(by_encoding.begin(), by_encoding.end(),
            [&](size_t a, size_t b) { return encodings[a] < encodings[b]; });
  for (size_t k = 1; k < by_encoding.size(); ++k) {
    ASSERT_FALSE(less(values[by_encoding[k]], values[by_encoding[k - 1]]));
  }
}

class OrderTest : public ::testing::Test {
 protected:
  std::mt19937_64 rng_{20250108};  // fixed: a failure replays

  int64_t AnyInt64() {
    switch (rng_() % 4) {
      case 0:
        return static_cast<int64_t>(rng_());
      case 1:
        return static_cast<int64_t>(rng_() % 2001) - 1000;
      case 2:
        return static_cast<int64_t>(rng_()) >> (rng_() % 64);
      default: {
        const int64_t edges[] = {kInt64Min, kInt64Min + 1, -1, 0, 1, kInt64Max - 1, kInt64Max};
        return edges[rng_() % 7];
      }
    }
  }
};

TEST_F(OrderTest, Bigint) {
  std::vector<int64_t> values;
  for (int k = 0; k < 300; ++k) {
    values.push_back(AnyInt64());
  }
  CheckOrder<int64_t>(
      Of(TypeKind::kBigint), values, [](const int64_t& v) { return std::to_string(v); }, std::less<>());
}

TEST_F(OrderTest, Double) {
  std::vector<double> values = {0.0,
                                -0.0,
                                1.0,
                                -1.0,
                                std::numeric_limits<double>::max(),
                                -std::numeric_limits<double>::max(),
                                std::numeric_limits<double>::min(),
                                -std::numeric_limits<double>::min(),
                                std::numeric_limits<double>::denorm_min(),
                                -std::numeric_limits<double>::denorm_min()};
  while (values.size() < 300) {
    double d = rng_() % 2 == 0 ? std::bit_cast<double>(rng_())
                               : static_cast<double>(static_cast<int64_t>(rng_() % 200) - 100) / 8;
    if (std::isfinite(d)) {
      values.push_back(d);
    }
  }
  // fmt's shortest form reads back as the same double; 1e+300 and 5e-324 are in the grammar.
  CheckOrder<double>(
      Of(TypeKind::kDouble), values, [](const double& v) { return fmt::format("{}", v); }, std::less<>());
}

TEST_F(OrderTest, Decimal) {
  for (ColumnType type : {Decimal(4, 2), Decimal(18, 3), Decimal(19, 0), Decimal(38, 5), Decimal(38, 38)}) {
    const i128 limit = Pow10(type.precision);  // the unscaled value is below it in magnitude
    std::vector<i128> values = {0, 1, -1, limit - 1, -(limit - 1)};
    while (values.size() < 200) {
      auto magnitude = (static_cast<UInt128>(rng_()) << 64 | rng_()) % static_cast<UInt128>(limit);
      if (rng_() % 3 == 0) {
        magnitude %= 1000;  // many values near zero, where the sign matters most
      }
      auto v = static_cast<i128>(magnitude);
      values.push_back(rng_() % 2 == 0 ? v : -v);
    }
    const int scale = type.scale;
    CheckOrder<i128>(
        type, values, [scale](const i128& v) { return DecimalText(v, scale); }, std::less<>());
  }
}

TEST_F(OrderTest, Date) {
  std::vector<int64_t> values = {-719162, 2932896, 0, -1, 1};
  while (values.size() < 300) {
    values.push_back(static_cast<int64_t>(rng_() % (2932896 + 719163)) - 719162);
  }
  CheckOrder<int64_t>(
      Of(TypeKind::kDate), values,
      [](const int64_t& days) {
        std::chrono::year_month_day ymd{std::chrono::sys_days(std::chrono::days(days))};
        return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                           static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
      },
      std::less<>());
}

TEST_F(OrderTest, Timestamp) {
  const Micros kMin = -62135596800LL * 1000000;
  const Micros kMax = 253402300800LL * 1000000 - 1;
  std::vector<Micros> values = {kMin, kMax, 0, -1, 1};
  while (values.size() < 300) {
    values.push_back(kMin + static_cast<Micros>(rng_() % static_cast<uint64_t>(kMax - kMin + 1)));
  }
  CheckOrder<Micros>(
      Of(TypeKind::kTimestamp), values, [](const Micros& m) { return FormatTimestamp(m); }, std::less<>());
}

TEST_F(OrderTest, Boolean) {
  CheckOrder<bool>(
      Of(TypeKind::kBoolean), {true, false, false, true}, [](const bool& b) { return b ? "yes" : "no"; },
      std::less<>());
}

std::string RandomText(std::mt19937_64& rng) {
  // Few letters, so that prefixes, equal values and NUL bytes next to other bytes are common.
  static constexpr char kAlphabet[] = {'\0', '\x01', 'a', 'b', '\xFF'};
  std::string s(rng() % 5, ' ');
  for (char& c : s) {
    c = kAlphabet[rng() % sizeof kAlphabet];
  }
  return s;
}

TEST_F(OrderTest, Text) {
  std::vector<std::string> values = {"", "a", "a\0"s, "ab", "a\0\0"s, "a\x01", "\0"s, "\xFF", "b"};
  while (values.size() < 300) {
    values.push_back(RandomText(rng_));
  }
  // std::string compares bytes as unsigned char: the order the encoding must keep.
  CheckOrder<std::string>(
      Of(TypeKind::kText), values, [](const std::string& s) { return s; }, std::less<>());
}

// Several columns appended one after the other compare as the tuple, column by column: what makes a
// composite key or a multi-column sequence one byte string.
TEST_F(OrderTest, TuplesCompareColumnByColumn) {
  using Tuple = std::tuple<std::string, int64_t, std::string, bool>;
  const ColumnType types[] = {Of(TypeKind::kText), Of(TypeKind::kBigint), Of(TypeKind::kText),
                              Of(TypeKind::kBoolean)};
  std::vector<Tuple> values = {{"a", 1, "", false},  {"a\0"s, 1, "", false}, {"ab", 1, "", false},
                               {"a", -1, "b", true}, {"", 0, "", false},     {"a", 1, "\0"s, false}};
  while (values.size() < 250) {
    values.emplace_back(RandomText(rng_), static_cast<int64_t>(rng_() % 5) - 2, RandomText(rng_),
                        rng_() % 2 == 0);
  }
  std::vector<std::string> encodings;
  for (const Tuple& t : values) {
    std::string e;
    Datum d;
    ASSERT_EQ(ParseDatum(types[0], std::get<0>(t), d), ParseFailure::kNone);
    AppendOrderedBytes(types[0], d, e);
    ASSERT_EQ(ParseDatum(types[1], std::to_string(std::get<1>(t)), d), ParseFailure::kNone);
    AppendOrderedBytes(types[1], d, e);
    ASSERT_EQ(ParseDatum(types[2], std::get<2>(t), d), ParseFailure::kNone);
    AppendOrderedBytes(types[2], d, e);
    ASSERT_EQ(ParseDatum(types[3], std::get<3>(t) ? "t" : "f", d), ParseFailure::kNone);
    AppendOrderedBytes(types[3], d, e);
    encodings.push_back(e);
  }
  for (size_t a = 0; a < values.size(); ++a) {
    for (size_t b = 0; b < values.size(); ++b) {
      int want = values[a] < values[b] ? -1 : values[b] < values[a] ? 1 : 0;
      ASSERT_EQ(Sign(encodings[a].compare(encodings[b])), want)
          << Hex(encodings[a]) << " vs " << Hex(encodings[b]);
      if (want <= 0) {
        ASSERT_LE(OrderedFloor(encodings[a]), OrderedFloor(encodings[b]));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// OrderedFloor

TEST(OrderedFloorTest, FirstEightBytesZeroPadded) {
  EXPECT_EQ(OrderedFloor(""), 0U);
  EXPECT_EQ(OrderedFloor("\x01"), 0x0100000000000000U);
  EXPECT_EQ(OrderedFloor("\x01\x02\x03\x04\x05\x06\x07\x08\x09"), 0x0102030405060708U);
  EXPECT_EQ(OrderedFloor("\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(OrderedFloor(OrderedTimestamp(0)), uint64_t{1} << 63);
}

// For the fixed encodings of at most 8 bytes the floor is the encoding itself: equal floors, equal values.
TEST_F(OrderTest, FloorIsExactForFixedEncodingsOfEightBytesOrLess) {
  struct Kind {
    ColumnType type;
    std::function<std::string()> any;
  } kinds[] = {
      {Of(TypeKind::kBigint), [&] { return std::to_string(AnyInt64() % 50); }},
      {Of(TypeKind::kTimestamp), [&] { return FormatTimestamp(static_cast<Micros>(rng_() % 20) - 10); }},
      {Of(TypeKind::kDouble), [&] { return fmt::format("{}", static_cast<double>(rng_() % 21) / 4 - 2.5); }},
      {Decimal(18, 2), [&] { return DecimalText(static_cast<i128>(rng_() % 41) - 20, 2); }},
      {Of(TypeKind::kDate), [&] { return fmt::format("2024-01-{:02}", 1 + rng_() % 31); }},
      {Of(TypeKind::kBoolean), [&] { return rng_() % 2 == 0 ? std::string("t") : std::string("f"); }},
  };
  for (auto& kind : kinds) {
    std::vector<std::string> encodings;
    for (int k = 0; k < 100; ++k) {
      encodings.push_back(EncodeText(kind.type, kind.any()));
      ASSERT_LE(encodings.back().size(), 8U);
    }
    for (const auto& a : encodings) {
      for (const auto& b : encodings) {
        ASSERT_EQ(OrderedFloor(a) == OrderedFloor(b), a == b) << kind.type.Name();
        ASSERT_EQ(OrderedFloor(a) < OrderedFloor(b), a < b) << kind.type.Name();
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// DescribeExpected

TEST(DescribeExpectedTest, SaysWhatWasExpectedAndWhatWentWrong) {
  using F = ParseFailure;
  struct Case {
    ColumnType type;
    ParseFailure failure;
    std::string_view want;
  } cases[] = {
      {Of(TypeKind::kText), F::kSyntax, "text"},
      {Of(TypeKind::kBigint), F::kSyntax, "a bigint"},
      {Of(TypeKind::kBigint), F::kOutOfRange, "a bigint (out of range)"},
      {Of(TypeKind::kDouble), F::kSyntax, "a double"},
      {Of(TypeKind::kDouble), F::kOutOfRange, "a double (out of range)"},
      {Decimal(10, 2), F::kSyntax, "a decimal(10,2)"},
      {Decimal(10, 2), F::kNone, "a decimal(10,2)"},
      {Decimal(10, 2), F::kRounding, "a decimal(10,2) (it would need rounding to 2 digits after the point)"},
      {Decimal(10, 1), F::kRounding, "a decimal(10,1) (it would need rounding to 1 digit after the point)"},
      {Decimal(10, 0), F::kRounding, "a decimal(10,0) (it would need rounding to a whole number)"},
      {Decimal(10, 2), F::kOutOfRange, "a decimal(10,2) (more than 8 digits before the point)"},
      {Decimal(3, 2), F::kOutOfRange, "a decimal(3,2) (more than 1 digit before the point)"},
      {Decimal(2, 2), F::kOutOfRange, "a decimal(2,2) (no digits allowed before the point)"},
      {Of(TypeKind::kBoolean), F::kSyntax, "a boolean (true/false, t/f, 1/0 or yes/no)"},
      {Of(TypeKind::kDate), F::kSyntax, "a date (YYYY-MM-DD)"},
      {Of(TypeKind::kDate), F::kOutOfRange, "a date (YYYY-MM-DD) of the years 0001-9999"},
      {Of(TypeKind::kTimestamp), F::kSyntax, "an ISO-8601 timestamp (like 2025-01-08T11:11:11Z)"},
      {Of(TypeKind::kTimestamp), F::kOutOfRange, "an ISO-8601 timestamp of the years 0001-9999 (in UTC)"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(DescribeExpected(c.type, c.failure), c.want);
  }
}

// What a reject reason reads like, end to end: the failure ParseDatum gives, described.
TEST(DescribeExpectedTest, ForWhatParseDatumRefuses) {
  struct Case {
    ColumnType type;
    std::string_view text;
    std::string_view want;
  } cases[] = {
      {Decimal(10, 2), "12,5", "a decimal(10,2)"},
      {Decimal(10, 2), "1.005", "a decimal(10,2) (it would need rounding to 2 digits after the point)"},
      {Decimal(10, 2), "123456789", "a decimal(10,2) (more than 8 digits before the point)"},
      {Of(TypeKind::kBigint), "9223372036854775808", "a bigint (out of range)"},
      {Of(TypeKind::kDouble), "1e999", "a double (out of range)"},
      {Of(TypeKind::kDate), "0000-01-01", "a date (YYYY-MM-DD) of the years 0001-9999"},
      {Of(TypeKind::kTimestamp), "9999-12-31T23:00-05:00",
       "an ISO-8601 timestamp of the years 0001-9999 (in UTC)"},
      {Of(TypeKind::kBoolean), "maybe", "a boolean (true/false, t/f, 1/0 or yes/no)"},
  };
  for (const auto& c : cases) {
    Datum d;
    ParseFailure f = ParseDatum(c.type, c.text, d);
    ASSERT_NE(f, ParseFailure::kNone) << c.text;
    EXPECT_EQ(DescribeExpected(c.type, f), c.want) << c.text;
  }
}

// DecodeOrdered reads back what AppendOrderedBytes wrote, for every compact type.
TEST(TypedValueTest, CompactEncodingsDecode) {
  const std::vector<std::pair<ColumnType, std::vector<std::string>>> cases = {
      {ColumnType::Bigint(), {"0", "-1", "9223372036854775807", "-9223372036854775808", "42"}},
      {ColumnType::Timestamp(),
       {"0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "1969-12-31T23:59:59Z"}},
      {ColumnType{TypeKind::kDate, 0, 0}, {"0001-01-01", "1970-01-01", "1969-12-31", "9999-12-31"}},
      {ColumnType{TypeKind::kDouble, 0, 0}, {"0", "-0.0", "1.5", "-1.5", "1e300", "-1e-300", "4.9e-324"}},
      {ColumnType{TypeKind::kDecimal, 18, 4},
       {"0", "-0.0001", "99999999999999.9999", "-99999999999999.9999"}},
      {ColumnType{TypeKind::kBoolean, 0, 0}, {"true", "false"}},
  };
  for (const auto& [type, texts] : cases) {
    EXPECT_TRUE(HasCompactEncoding(type)) << type.Name();
    for (const std::string& text : texts) {
      Datum d;
      ASSERT_EQ(ParseDatum(type, text, d), ParseFailure::kNone) << type.Name() << " " << text;
      std::string enc;
      AppendOrderedBytes(type, d, enc);
      Datum back = DecodeOrdered(type, enc);
      std::string again;
      AppendOrderedBytes(type, back, again);
      EXPECT_EQ(again, enc) << type.Name() << " " << text;
      EXPECT_EQ(back.i, d.i) << type.Name() << " " << text;
      EXPECT_EQ(std::bit_cast<uint64_t>(back.d), std::bit_cast<uint64_t>(d.d)) << type.Name() << " " << text;
    }
  }
  EXPECT_FALSE(HasCompactEncoding(ColumnType::Text()));
  EXPECT_FALSE(HasCompactEncoding(ColumnType{TypeKind::kDecimal, 19, 2}));
}

}  // namespace
}  // namespace dimstream
