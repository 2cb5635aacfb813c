#include "merge/tests/entity_values.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <utility>

#include "warehouse/sql.h"

namespace dimstream::property::declared {
namespace {

// NUL is valid UTF-8 and so a valid text; the queries show it as this mark (see Norm).
const char* const kNulMark = "\u2400";

std::string ShowNul(const std::string& s) {
  std::string out;
  for (char c : s) {
    out += c == '\0' ? std::string(kNulMark) : std::string(1, c);
  }
  return out;
}

}  // namespace

std::string Type::Name() const {
  switch (kind) {
    case Kind::kText:
      return "text";
    case Kind::kBigint:
      return "bigint";
    case Kind::kDouble:
      return "double";
    case Kind::kDecimal:
      return "decimal(" + std::to_string(p) + "," + std::to_string(s) + ")";
    case Kind::kBoolean:
      return "boolean";
    case Kind::kDate:
      return "date";
    case Kind::kTimestamp:
      return "timestamp";
  }
  return "?";
}

ColumnType Type::Declared() const {
  static const TypeKind kinds[] = {TypeKind::kText,     TypeKind::kBigint,  TypeKind::kDouble,
                                   TypeKind::kDecimal,  TypeKind::kBoolean, TypeKind::kDate,
                                   TypeKind::kTimestamp};
  return ColumnType{kinds[static_cast<int>(kind)], static_cast<uint8_t>(p), static_cast<uint8_t>(s)};
}

Val Num(Int128 n) {
  return Val{n, {}};
}

Val Txt(std::string s) {
  return Val{0, std::move(s)};
}

Int128 Pow10(int k) {
  Int128 v = 1;
  for (int i = 0; i < k; ++i) {
    v *= 10;
  }
  return v;
}

std::string IntText(Int128 v) {
  if (v == 0) {
    return "0";
  }
  bool negative = v < 0;
  UInt128 u = negative ? static_cast<UInt128>(0) - static_cast<UInt128>(v) : static_cast<UInt128>(v);
  std::string d;
  while (u != 0) {
    d += static_cast<char>('0' + static_cast<int>(u % 10));
    u /= 10;
  }
  if (negative) {
    d += '-';
  }
  std::reverse(d.begin(), d.end());
  return d;
}

std::string FixedPoint(Int128 unscaled, int scale) {
  bool negative = unscaled < 0;
  Int128 a = negative ? -unscaled : unscaled;
  std::string out = (negative ? "-" : "") + IntText(a / Pow10(scale));
  if (scale > 0) {
    std::string frac = IntText(a % Pow10(scale));
    out += "." + std::string(static_cast<size_t>(scale) - frac.size(), '0') + frac;
  }
  return out;
}

std::string Canon(const Type& t, const Val& v) {
  switch (t.kind) {
    case Kind::kText:
      return ShowNul(v.s);
    case Kind::kBigint:
    case Kind::kDate:
    case Kind::kTimestamp:
      return IntText(v.n);
    case Kind::kDouble:
      return FixedPoint(v.n * 15625, 6);  // n / 64 = n * 15625 / 10^6, exactly
    case Kind::kDecimal:
      return FixedPoint(v.n, t.s);
    case Kind::kBoolean:
      return v.n != 0 ? "true" : "false";
  }
  return {};
}

std::string Norm(const std::string& name, const Type& t, Engine engine) {
  std::string q = QuoteIdent(name);
  const bool pg = engine == Engine::kPostgres;
  switch (t.kind) {
    case Kind::kText:  // a NUL shown as kNulMark: Warehouse::Query would end the text at its first NUL
      return pg ? q : "replace(" + q + ", chr(0), '" + kNulMark + "')";  // PostgreSQL's text holds no NUL
    case Kind::kBigint:
    case Kind::kBoolean:
      return "CAST(" + q + " AS VARCHAR)";
    case Kind::kDecimal:  // DuckDB writes a DECIMAL(3,3) as .123: widen it first
      return "CAST(CAST(" + q + " AS DECIMAL(38, " + std::to_string(t.s) + ")) AS VARCHAR)";
    case Kind::kDouble:  // + 0.0: -0.0 is 0.0 (a NUMERIC has no -0); every value of the pools is exact in 15
                         // digits
      return pg ? "CAST(round(CAST(" + q + " AS NUMERIC), 6) AS VARCHAR)" : "printf('%.6f', " + q + " + 0.0)";
    case Kind::kDate:
      return pg ? "CAST(" + q + " - DATE '1970-01-01' AS VARCHAR)"
                : "CAST(date_diff('day', DATE '1970-01-01', " + q + ") AS VARCHAR)";
    case Kind::kTimestamp:
      return "CAST(" + EpochMicrosSql(engine, q) + " AS VARCHAR)";
  }
  return q;
}

int64_t DaysOf(int y, unsigned m, unsigned d) {
  return std::chrono::sys_days{std::chrono::year{y} / std::chrono::month{m} / std::chrono::day{d}}
      .time_since_epoch()
      .count();
}

std::vector<Val> ValuePool(const Type& t, bool key) {
  switch (t.kind) {
    case Kind::kText: {
      // Keys: case, a leading space, prefixes, NUL inside (a composite key ("a", "\0b") is not ("a\0", "b")).
      static const std::vector<std::string> keys = {"A",
                                                    "a",
                                                    "ABC",
                                                    " ABC",
                                                    "abc",
                                                    "李雷",
                                                    "x,y",
                                                    "q\"t",
                                                    "0",
                                                    "00",
                                                    "Line\nbreak",
                                                    std::string{'a', kNul},
                                                    std::string{kNul, 'b'},
                                                    "b"};
      static const std::vector<std::string> values = {"Ann",
                                                      "Zoë",
                                                      "O'Brien",
                                                      "Mary \"May\"",
                                                      "李雷",
                                                      "Ann, Jr.",
                                                      "Line 1\r\nLine 2",
                                                      "Line 1\nLine 2",
                                                      " padded ",
                                                      "padded",
                                                      "🇵🇱 PL",
                                                      "Köln, DE",
                                                      "0",
                                                      "00",
                                                      "nul" + std::string(1, kNul) + "inside"};
      const std::vector<std::string>& v = key ? keys : values;
      std::vector<Val> out;
      for (auto& s : v) {
        out.push_back(Txt(s));
      }
      return out;
    }
    case Kind::kBigint:
      return {Num(0),         Num(1),         Num(-1),
              Num(7),         Num(42),        Num(1000000),
              Num(INT64_MAX), Num(INT64_MIN), Num(9007199254740993LL)};
    case Kind::kDouble:  // in 64ths: 0, 1, 1.5, -2.25, 0.125, 0.015625, 1000, -0.015625, 2^33
      return {Num(0), Num(64), Num(96), Num(-144), Num(8), Num(1), Num(64000), Num(-1), Num(549755813888LL)};
    case Kind::kDecimal: {
      Int128 limit = Pow10(t.p);  // |unscaled| < 10^p
      std::vector<Int128> v = {0, 1, -1, Pow10(t.s), limit - 1, -(limit - 1), 123, -4567};
      if (t.s >= 1) {
        v.push_back(15 * Pow10(t.s - 1));  // 1.5
        v.push_back(-25 * Pow10(t.s - 1));
      }
      std::vector<Val> out;
      for (Int128 u : v) {
        if (u < limit && -u < limit && std::find(out.begin(), out.end(), Num(u)) == out.end()) {
          out.push_back(Num(u));
        }
      }
      return out;
    }
    case Kind::kBoolean:
      return {Num(0), Num(1)};
    case Kind::kDate:
      return {Num(0),
              Num(-1),
              Num(DaysOf(2024, 2, 29)),
              Num(DaysOf(2025, 1, 1)),
              Num(DaysOf(1, 1, 1)),
              Num(DaysOf(9999, 12, 31)),
              Num(DaysOf(1900, 3, 1))};
    case Kind::kTimestamp:
      return {Num(0),
              Num(-1),
              Num(1735689600000000LL),
              Num(1709164800123456LL),
              Num(-2208988800000000LL),
              Num(4102444800000001LL),
              Num(951782400000000LL)};
  }
  return {};
}

}  // namespace dimstream::property::declared
