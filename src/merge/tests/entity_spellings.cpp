#include "merge/tests/entity_spellings.h"

#include <vector>

#include "merge/tests/property_csv.h"

namespace dimstream::property::declared {
namespace {

// A decimal number u / 10^scale in one of the spellings a decimal accepts: trailing zeros after the point
// dropped or added, leading zeros, a '+', "-0" for zero.
std::string SpellFixed(Rng& rng, Int128 u, int scale) {
  bool negative = u < 0;
  Int128 a = negative ? -u : u;
  std::string ip = IntText(a / Pow10(scale));
  std::string frac;
  if (scale > 0) {
    std::string f = IntText(a % Pow10(scale));
    frac = std::string(static_cast<size_t>(scale) - f.size(), '0') + f;
  }
  if (rng.Chance(0.5)) {
    while (!frac.empty() && frac.back() == '0') {
      frac.pop_back();
    }
  }
  if (rng.Chance(0.15)) {
    frac += rng.Chance(0.5) ? "0" : "00";
  }
  if (rng.Chance(0.1)) {
    ip = (rng.Chance(0.5) ? "0" : "00") + ip;
  }
  std::string sign = negative ? "-" : a == 0 && rng.Chance(0.1) ? "-" : rng.Chance(0.1) ? "+" : "";
  return sign + ip + (frac.empty() ? "" : "." + frac);
}

}  // namespace

std::string SpellTimestamp(Rng& rng, Micros utc) {
  if (utc % kDay == 0 && rng.Chance(0.15)) {
    return FormatDate(utc / kDay);
  }
  return FormatEventTime(rng, utc);
}

std::string Spell(Rng& rng, const Type& t, const Val& v) {
  switch (t.kind) {
    case Kind::kText:
      return v.s;
    case Kind::kBigint: {
      std::string digits = IntText(v.n < 0 ? -v.n : v.n);
      if (rng.Chance(0.15)) {
        digits = (rng.Chance(0.5) ? "0" : "00") + digits;
      }
      return (v.n < 0 ? "-" : rng.Chance(0.1) ? "+" : "") + digits;
    }
    case Kind::kDecimal:
      return SpellFixed(rng, v.n, t.s);
    case Kind::kDouble: {
      Int128 m = v.n * 15625;  // value = m * 10^-6
      if (rng.Chance(0.6)) {
        return SpellFixed(rng, m, 6);
      }
      int e = -6;
      while (m != 0 && m % 10 == 0) {
        m /= 10;
        ++e;
      }
      std::string sign = m < 0 ? "-" : rng.Chance(0.1) ? "+" : "";
      std::string digits = IntText(m < 0 ? -m : m);
      std::string mark = rng.Chance(0.5) ? "e" : "E";
      if (rng.Chance(0.5)) {
        return sign + digits + mark + std::to_string(e);  // 15e-1
      }
      int exp = e + static_cast<int>(digits.size()) - 1;  // 1.5e0
      std::string mantissa = digits.substr(0, 1) + (digits.size() > 1 ? "." + digits.substr(1) : "");
      return sign + mantissa + mark + (exp >= 0 && rng.Chance(0.5) ? "+" : "") + std::to_string(exp);
    }
    case Kind::kBoolean: {
      static const std::vector<std::string> yes = {"true", "t", "1", "yes"};
      static const std::vector<std::string> no = {"false", "f", "0", "no"};
      return RandomCase(rng, rng.Pick(v.n != 0 ? yes : no));
    }
    case Kind::kDate:
      return FormatDate(static_cast<int64_t>(v.n));
    case Kind::kTimestamp:
      return SpellTimestamp(rng, static_cast<Micros>(v.n));
  }
  return {};
}

std::optional<std::string> BadSpelling(Rng& rng, const Type& t) {
  static const std::vector<std::string> bigints = {"abc",
                                                   "1.0",
                                                   "12x",
                                                   "99999999999999999999",
                                                   "9223372036854775808",
                                                   "-9223372036854775809",
                                                   "0x1F",
                                                   "--1",
                                                   "1 2",
                                                   "1e3",
                                                   "+-1"};
  static const std::vector<std::string> doubles = {"abc", "1,5",  "1.2.3", "--1", "1e",
                                                   "e5",  "0x10", "1.5.",  "."};
  static const std::vector<std::string> booleans = {"maybe", "2", "tru", "y", "on", "-1", "nope"};
  static const std::vector<std::string> dates = {"2025-02-30", "2025-1-1",   "2025/01/01",
                                                 "20250101",   "2025-13-01", "2025-01-01T00:00:00",
                                                 "0000-01-01", "yesterday"};
  switch (t.kind) {
    case Kind::kText:
      return std::nullopt;
    case Kind::kBigint:
      return rng.Pick(bigints);
    case Kind::kDouble:
      return rng.Pick(doubles);
    case Kind::kBoolean:
      return rng.Pick(booleans);
    case Kind::kDate:
      return rng.Pick(dates);
    case Kind::kTimestamp:
      return rng.Pick(BadTimestamps());
    case Kind::kDecimal:
      switch (rng.Below(4)) {
        case 0:
          return rng.Pick(doubles);
        case 1:  // one digit more after the point than the scale, not a zero: it would need rounding
          return "0." + std::string(static_cast<size_t>(t.s), '0') + "1";
        case 2:  // one digit more before the point than p - s allows
          return "1" + std::string(static_cast<size_t>(t.p - t.s), '0');
        default:
          return "-1" + std::string(static_cast<size_t>(t.p - t.s), '0') + ".5";
      }
  }
  return std::nullopt;
}

std::string NullField(Rng& rng) {
  return rng.Chance(0.1) ? "\"\"" : "";
}

}  // namespace dimstream::property::declared
