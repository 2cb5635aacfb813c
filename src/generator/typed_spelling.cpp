#include "generator/typed_spelling.h"

#include <algorithm>
#include <array>
#include <chrono>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/typed_value.h"

namespace dimstream {
namespace {

// Time-zone offsets in minutes for timestamps written with one.
constexpr std::array<int, 8> kOffsets = {60, 120, -300, 330, -480, 540, -180, 345};

std::string Digits(UInt128 v) {
  std::string s;
  do {
    s += static_cast<char>('0' + static_cast<int>(v % 10));
    v /= 10;
  } while (v != 0);
  std::reverse(s.begin(), s.end());
  return s;
}

// A spelling variant other than the canonical one, or -1: a fifth of the values when a style is given.
int Variant(Rng* style, double p, uint64_t variants) {
  if (style == nullptr || !style->Bernoulli(p)) {
    return -1;
  }
  return static_cast<int>(style->Uniform(variants));
}

}  // namespace

uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t HashName(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : text) {
    h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  }
  return h;
}

int64_t DayOf(Micros t) {
  return t >= 0 ? t / kMicrosPerDay : -((-t + kMicrosPerDay - 1) / kMicrosPerDay);
}

void AppendDecimal(std::string& out, Int128 unscaled, unsigned scale, Rng* style) {
  const bool negative = unscaled < 0;
  std::string digits = Digits(negative ? 0 - static_cast<UInt128>(unscaled) : static_cast<UInt128>(unscaled));
  if (digits.size() < scale + 1) {
    digits.insert(0, scale + 1 - digits.size(), '0');
  }
  std::string whole = digits.substr(0, digits.size() - scale);
  std::string frac = digits.substr(digits.size() - scale);
  switch (Variant(style, 0.2, 3)) {
    case 0:  // trailing zeros dropped: 12.50 -> 12.5, 12.00 -> 12
      while (!frac.empty() && frac.back() == '0') {
        frac.pop_back();
      }
      break;
    case 1:  // zeros added: 12.50 -> 12.500, 12 -> 12.0 (still no rounding)
      frac += style->Bernoulli(0.5) ? "0" : "00";
      break;
    case 2:  // no leading zero (.50) or an explicit sign (+12.50)
      if (whole == "0" && !frac.empty()) {
        whole.clear();
      } else if (!negative) {
        out += '+';
      }
      break;
    default:
      break;
  }
  if (negative) {
    out += '-';
  }
  out += whole;
  if (!frac.empty()) {
    out += '.';
    out += frac;
  }
}

void AppendDouble(std::string& out, int64_t mantissa, unsigned decimals, Rng* style) {
  const bool negative = mantissa < 0;
  const auto magnitude = negative ? 0 - static_cast<uint64_t>(mantissa) : static_cast<uint64_t>(mantissa);
  std::string digits = Digits(magnitude);
  if (digits.size() < decimals + 1) {
    digits.insert(0, decimals + 1 - digits.size(), '0');
  }
  const std::string whole = digits.substr(0, digits.size() - decimals);
  std::string frac = digits.substr(digits.size() - decimals);
  std::string trimmed = frac;
  while (!trimmed.empty() && trimmed.back() == '0') {
    trimmed.pop_back();
  }
  if (negative && magnitude != 0) {
    out += '-';
  }
  switch (Variant(style, 0.2, 3)) {
    case 0:  // every decimal written: 12.50, 12.0
      out += whole + "." + (frac.empty() ? "0" : frac);
      return;
    case 1: {  // an exponent: 1.25e1, 1.25E+01
      if (magnitude == 0) {
        out += "0.0e0";
        return;
      }
      std::string significant = Digits(magnitude);
      const auto exponent = static_cast<int64_t>(significant.size()) - 1 - static_cast<int64_t>(decimals);
      while (significant.size() > 1 && significant.back() == '0') {
        significant.pop_back();
      }
      out += significant.substr(0, 1);
      if (significant.size() > 1) {
        out += "." + significant.substr(1);
      }
      out += style->Bernoulli(0.5)
                 ? fmt::format("e{}", exponent)
                 : fmt::format("E{}{:02}", exponent < 0 ? '-' : '+', exponent < 0 ? -exponent : exponent);
      return;
    }
    default:
      out += whole;
      if (!trimmed.empty()) {
        out += "." + trimmed;
      }
      return;
  }
}

void AppendBoolean(std::string& out, bool value, unsigned house, Rng* style) {
  static constexpr std::array<std::array<std::string_view, 2>, 6> kHouses = {
      {{"false", "true"}, {"f", "t"}, {"0", "1"}, {"no", "yes"}, {"FALSE", "TRUE"}, {"False", "True"}}};
  const int variant = Variant(style, 0.15, 4);
  if (variant < 0) {
    out += kHouses[house % kHouses.size()][value ? 1 : 0];
    return;
  }
  std::string word(kHouses[static_cast<size_t>(variant)][value ? 1 : 0]);
  const uint64_t letter_case = style->Uniform(3);  // as is, upper, capitalized
  for (size_t i = 0; i < word.size(); ++i) {
    if (letter_case == 1 || (letter_case == 2 && i == 0)) {
      word[i] = static_cast<char>(word[i] >= 'a' && word[i] <= 'z' ? word[i] - 'a' + 'A' : word[i]);
    }
  }
  out += word;
}

void AppendDate(std::string& out, int64_t days) {
  const std::chrono::year_month_day ymd{std::chrono::sys_days(std::chrono::days(days))};
  out += fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

void AppendTimestamp(std::string& out, Micros t, Rng* style) {
  std::string iso = FormatTimestamp(t);  // YYYY-MM-DDTHH:MM:SS[.ffffff]Z
  switch (Variant(style, 0.15, 4)) {
    case 0: {  // the same instant in local time with its offset
      const int minutes = kOffsets[style->Uniform(kOffsets.size())];
      const Micros local = t + static_cast<Micros>(minutes) * 60 * kMicrosPerSecond;
      const int64_t day = DayOf(local);
      if (day < kFirstDay || day > kLastDay) {
        break;
      }
      iso = FormatTimestamp(local);
      iso.pop_back();
      const int magnitude = minutes < 0 ? -minutes : minutes;
      iso += fmt::format("{}{:02}:{:02}", minutes < 0 ? '-' : '+', magnitude / 60, magnitude % 60);
      break;
    }
    case 1:  // a space between date and time
      iso[10] = ' ';
      break;
    case 2:  // no zone: UTC
      iso.pop_back();
      break;
    case 3:
      iso.pop_back();
      iso += "+00:00";
      break;
    default:
      break;
  }
  out += iso;
}

std::string NotOfType(Rng& rng, const ColumnType& type, std::string_view good) {
  const std::string g(good);
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::string bad;
    switch (type.kind) {
      case TypeKind::kText:
        return {};
      case TypeKind::kBigint: {
        static constexpr std::array<const char*, 6> kForms = {"{}.5", "#{}", "{}a",
                                                              "N/A",  "1e3", "9223372036854775808"};
        bad = fmt::format(fmt::runtime(kForms[rng.Uniform(kForms.size())]), g);
        if (rng.Bernoulli(0.2) && g.size() > 3) {
          bad = g.substr(0, g.size() - 3) + "," + g.substr(g.size() - 3);  // a thousands separator
        }
        break;
      }
      case TypeKind::kDouble: {
        static constexpr std::array<const char*, 6> kBad = {"NaN", "inf", "N/A", "1.2.3", "1e999", "--1"};
        bad = kBad[rng.Uniform(kBad.size())];
        if (rng.Bernoulli(0.4) && g.find('.') != std::string::npos) {
          bad = g;
          bad[g.find('.')] = ',';  // a decimal comma
        }
        break;
      }
      case TypeKind::kDecimal:
        switch (rng.Uniform(4)) {
          case 0:  // a decimal comma: 12,5
            bad = g.find('.') != std::string::npos ? g : g + ".5";
            bad[bad.find('.')] = ',';
            break;
          case 1:  // one digit too many after the point: it would need rounding
            bad = type.scale == 0 ? fmt::format("{}.5", rng.Between(1, 99))
                                  : fmt::format("0.{}7", std::string(type.scale, '0'));
            break;
          case 2:  // one digit too many before it
            bad = "1" + std::string(static_cast<size_t>(type.precision - type.scale), '0');
            break;
          default:
            bad = "$" + g;
            break;
        }
        break;
      case TypeKind::kBoolean: {
        static constexpr std::array<const char*, 8> kBad = {"maybe", "Y", "N",  "on",
                                                            "off",   "2", "ja", "null"};
        bad = kBad[rng.Uniform(kBad.size())];
        break;
      }
      case TypeKind::kDate:
      case TypeKind::kTimestamp: {
        const std::string iso = g.size() >= 10 ? g : std::string("2025-06-15");
        switch (rng.Uniform(6)) {
          case 0:
            bad = iso.substr(0, 5) + "13" + iso.substr(7);  // month 13
            break;
          case 1:
            bad = iso.substr(0, 5) + "02-30" + iso.substr(10);  // February 30
            break;
          case 2:  // US notation
            bad = iso.substr(5, 2) + "/" + iso.substr(8, 2) + "/" + iso.substr(0, 4);
            break;
          case 3:  // no separators
            bad = iso.substr(0, 4) + iso.substr(5, 2) + iso.substr(8, 2);
            break;
          case 4:
            bad = type.kind == TypeKind::kDate ? iso.substr(0, 8) + "32"
                                               : iso.substr(0, 10) + "T25:00:00Z";  // hour 25
            break;
          default:
            bad = "N/A";
            break;
        }
        break;
      }
    }
    Datum ignored;
    if (!bad.empty() && ParseDatum(type, bad, ignored) != ParseFailure::kNone) {
      return bad;
    }
  }
  return "N/A";
}

}  // namespace dimstream
