#include "generator/entity_values.h"

#include <algorithm>
#include <array>
#include <chrono>

#include <fmt/format.h>

#include "common/clock.h"

#include "config/entity.h"
#include "generator/attribute_kinds.h"
#include "generator/customer_faker.h"

namespace dimstream {
namespace {

// Reserved for documentation (RFC 2606), so that no generated address can reach a real mailbox.
constexpr std::array<std::string_view, 5> kEmailDomains = {"example.com", "example.net", "example.org",
                                                           "mail.example.com", "inbox.example.net"};
constexpr std::array<std::string_view, 6> kStatuses = {"active",    "inactive", "pending",
                                                       "suspended", "closed",   "trial"};
constexpr std::array<std::string_view, 4> kTiers = {"bronze", "silver", "gold", "platinum"};
constexpr std::array<std::string_view, 8> kCategories = {"retail",     "wholesale", "online",    "enterprise",
                                                         "government", "education", "nonprofit", "partner"};
constexpr std::array<std::string_view, 10> kColors = {"red",    "green", "blue", "black",  "white",
                                                      "silver", "navy",  "teal", "orange", "purple"};
constexpr std::array<std::string_view, 8> kCurrencies = {"USD", "EUR", "GBP", "JPY",
                                                         "CHF", "CAD", "AUD", "SEK"};
constexpr std::array<std::string_view, 16> kCountryCodes = {"US", "DE", "FR", "GB", "NL", "ES", "IT", "CA",
                                                            "MX", "BR", "JP", "IN", "AU", "SE", "PL", "CH"};
constexpr std::array<std::string_view, 8> kLocales = {"en-US", "en-GB", "de-DE", "fr-FR",
                                                      "es-ES", "ja-JP", "pt-BR", "nl-NL"};
constexpr std::array<std::string_view, 8> kCompanySuffixes = {"Inc.",     "LLC",  "& Sons", "Group",
                                                              "Holdings", "Ltd.", "Co.",    "Partners"};
constexpr std::array<std::string_view, 10> kProductAdjectives = {
    "Classic", "Deluxe", "Compact", "Ultra", "Eco", "Smart", "Pro", "Mini", "Vintage", "Premium"};
constexpr std::array<std::string_view, 12> kProductNouns = {"Widget", "Kettle",   "Backpack",   "Lamp",
                                                            "Chair",  "Notebook", "Headphones", "Blender",
                                                            "Jacket", "Sneakers", "Mug",        "Monitor"};
// Generic words for text columns whose name says nothing: tokens and short sentences.
constexpr std::array<std::string_view, 40> kWords = {
    "amber",  "harbor",  "quiet",  "falcon", "river",  "copper",  "meadow", "signal", "cedar",  "lantern",
    "north",  "velvet",  "summit", "orbit",  "maple",  "granite", "willow", "ember",  "coral",  "prairie",
    "delta",  "harvest", "canyon", "pilot",  "silver", "thunder", "island", "breeze", "marble", "atlas",
    "garden", "beacon",  "frost",  "valley", "comet",  "saffron", "tundra", "ridge",  "lagoon", "pepper"};

template <size_t N>
std::string_view Pick(ChoiceBits& b, const std::array<std::string_view, N>& list) {
  return list[b.Below(N)];
}

template <typename T>
const T& Pick(ChoiceBits& b, const std::vector<T>& list) {
  return list[b.Below(list.size())];
}

UInt128 Pow10(unsigned n) {
  UInt128 v = 1;
  for (unsigned i = 0; i < n; ++i) {
    v *= 10;
  }
  return v;
}

std::string Street(ChoiceBits& b, const WordLists& words) {
  static constexpr std::array<uint32_t, 3> kLow = {100, 1000, 10000};
  const uint32_t low = kLow[b.Below(kLow.size())];
  std::string street = fmt::format("{} {} {}", b.Between(low, low * 10 - 1), Pick(b, words.street_names),
                                   Pick(b, words.street_suffixes));
  const uint64_t unit = b.Below(100);
  if (unit < 55) {
    return street;
  }
  if (unit < 80) {
    return street + fmt::format(" Apt. {:03}", b.Between(1, 999));
  }
  if (unit < 95) {
    return street + fmt::format(" Suite {:03}", b.Between(1, 999));
  }
  // A comma inside the value, so that ordinary rows exercise quoting.
  return street + fmt::format(" Unit {}, Floor {}", b.Between(1, 99), b.Between(2, 30));
}

std::string Uuid(ChoiceBits& b) {
  const uint64_t hi = b.Next();
  const uint64_t lo = b.Next();
  return fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xFFFF, hi & 0xFFF,
                     0x8000 | ((lo >> 48) & 0x3FFF), lo & 0xFFFFFFFFFFFFULL);
}

}  // namespace

AttributeFaker::AttributeFaker(const EntitySpec& entity, Micros start, double null_share)
    : words_(Words()), start_(start), null_share_(null_share) {
  const std::vector<std::string> names = entity.attribute_columns();
  const size_t scd1 = entity.scd1_columns.size();
  for (const std::string& name : names) {
    Column c;
    c.type = entity.TypeOf(name);
    c.kind = ValueKindOf(name, c.type.kind, entity.name);
    c.salt = HashName(entity.name + "." + name);
    c.house = static_cast<unsigned>(c.salt % 6);
    columns_.push_back(c);
  }
  // Columns that belong together, within one SCD group only: an SCD1 change must not move an SCD2 value.
  auto same_group = [&](size_t a, size_t b) { return (a < scd1) == (b < scd1); };
  auto find = [&](size_t a, ValueKind kind) {
    for (size_t b = 0; b < columns_.size(); ++b) {
      if (b != a && columns_[b].kind == kind && same_group(a, b)) {
        return static_cast<int>(b);
      }
    }
    return -1;
  };
  for (size_t a = 0; a < columns_.size(); ++a) {
    Column& c = columns_[a];
    if (c.kind == ValueKind::kState) {
      c.source = find(a, ValueKind::kCity);
    } else if (c.kind == ValueKind::kEmail) {
      c.first_name = find(a, ValueKind::kFirstName);
      c.last_name = find(a, ValueKind::kLastName);
      c.full_name = find(a, ValueKind::kFullName);
    }
  }
}

Choice AttributeFaker::Draw(Rng& rng, size_t /*a*/) const {
  // No draw at all when NULLs are off, so that --null-share 0 leaves the rest of the stream as it was.
  if (null_share_ > 0 && rng.Bernoulli(null_share_)) {
    return kNullChoice;
  }
  return static_cast<Choice>(rng.Uniform(kNullChoice));
}

bool AttributeFaker::Change(Rng& rng, std::vector<Choice>& values, size_t a) const {
  if (!changeable(a)) {
    return false;
  }
  const Choice before = values[a];
  const std::string old_text = Render(values.data(), a, nullptr);
  for (int attempt = 0; attempt < 16; ++attempt) {
    values[a] = Draw(rng, a);
    if (values[a] != before && Render(values.data(), a, nullptr) != old_text) {
      return true;
    }
  }
  // Small domains (a boolean that is mostly true): walk the choices until the value moves.
  for (Choice step = 1; step < 1024; ++step) {
    values[a] = static_cast<Choice>((static_cast<uint64_t>(before) + step) % kNullChoice);
    if (Render(values.data(), a, nullptr) != old_text) {
      return true;
    }
  }
  values[a] = before;
  return false;
}

size_t AttributeFaker::CityIndex(const Choice* values, const Column& c, Choice choice) const {
  if (c.source >= 0 && values[c.source] != kNullChoice) {
    const Column& city = columns_[static_cast<size_t>(c.source)];
    return ChoiceBits(values[c.source], city.salt).Below(words_.cities.size());
  }
  return ChoiceBits(choice, c.salt).Below(words_.cities.size());
}

std::string AttributeFaker::Text(const Choice* values, const Column& c, Choice choice) const {
  ChoiceBits b(choice, c.salt);
  switch (c.kind) {
    case ValueKind::kFirstName:
      return std::string(Pick(b, words_.first_names));
    case ValueKind::kLastName:
      return std::string(Pick(b, words_.last_names));
    case ValueKind::kFullName: {
      const std::string_view first = Pick(b, words_.first_names);
      return fmt::format("{} {}", first, Pick(b, words_.last_names));
    }
    case ValueKind::kEmail: {
      auto name_of = [&](int column, const std::vector<std::string_view>& list) {
        if (column >= 0 && values[column] != kNullChoice) {
          return Text(values, columns_[static_cast<size_t>(column)], values[column]);
        }
        return std::string(Pick(b, list));
      };
      std::string first = EmailLocalPart(name_of(c.first_name, words_.first_names));
      std::string last = EmailLocalPart(name_of(c.last_name, words_.last_names));
      if (c.first_name < 0 && c.last_name < 0 && c.full_name >= 0 && values[c.full_name] != kNullChoice) {
        const std::string full =
            Text(values, columns_[static_cast<size_t>(c.full_name)], values[c.full_name]);
        const size_t space = full.find(' ');
        first = EmailLocalPart(full.substr(0, space));
        last = EmailLocalPart(space == std::string::npos ? full : full.substr(space + 1));
      }
      const std::string number = b.Chance(0.6) ? fmt::format("{}", b.Between(1, 999)) : std::string();
      const uint64_t style = b.Below(4);
      const std::string local = style == 0   ? first + "." + last
                                : style == 1 ? first + last
                                : style == 2 ? first.substr(0, 1) + last
                                             : first + "_" + last;
      return local + number + "@" + std::string(Pick(b, kEmailDomains));
    }
    case ValueKind::kCity:
      return std::string(words_.cities[CityIndex(values, c, choice)].name);
    case ValueKind::kState:
      return std::string(words_.cities[CityIndex(values, c, choice)].state);
    case ValueKind::kCountry:
      return b.Chance(0.6) ? std::string("United States") : std::string(Pick(b, words_.countries));
    case ValueKind::kCountryCode:
      return std::string(Pick(b, kCountryCodes));
    case ValueKind::kStreet:
      return Street(b, words_);
    case ValueKind::kZip:
      return fmt::format("{:05}", b.Between(1001, 99950));
    case ValueKind::kPhone:
      return fmt::format("+1-{}-555-{:04}", b.Between(201, 989), b.Below(10000));
    case ValueKind::kStatus:
      return std::string(Pick(b, kStatuses));
    case ValueKind::kTier:
      return std::string(Pick(b, kTiers));
    case ValueKind::kCategory:
      return std::string(Pick(b, kCategories));
    case ValueKind::kColor:
      return std::string(Pick(b, kColors));
    case ValueKind::kCurrency:
      return std::string(Pick(b, kCurrencies));
    case ValueKind::kCompany: {
      const std::string_view last = Pick(b, words_.last_names);
      if (b.Chance(0.2)) {
        const std::string_view other = Pick(b, words_.last_names);
        return fmt::format("{}, {} & Co.", last, other);  // a comma: quoting
      }
      return fmt::format("{} {}", last, Pick(b, kCompanySuffixes));
    }
    case ValueKind::kProduct: {
      std::string product = fmt::format("{} {}", Pick(b, kProductAdjectives), Pick(b, kProductNouns));
      if (b.Chance(0.15)) {
        product += fmt::format(" {}\"", b.Between(10, 34));  // inches: a quote inside the value
      } else if (b.Chance(0.3)) {
        product += fmt::format(" {}", b.Between(100, 900));
      }
      return product;
    }
    case ValueKind::kUrl:
      return fmt::format("https://www.{}/{}-{}", Pick(b, kEmailDomains), Pick(b, kWords), b.Between(1, 9999));
    case ValueKind::kSentence: {
      std::string s;
      const uint64_t n = b.Between(3, 9);
      for (uint64_t i = 0; i < n; ++i) {
        std::string word(Pick(b, kWords));
        if (i == 0) {
          word[0] = static_cast<char>(word[0] - 'a' + 'A');
        } else {
          s += (b.Chance(0.1) ? ", " : " ");
        }
        s += word;
      }
      return s + ".";
    }
    case ValueKind::kCode:
      return fmt::format("{}{}-{:04}", static_cast<char>('A' + b.Below(26)),
                         static_cast<char>('A' + b.Below(26)), b.Below(10000));
    case ValueKind::kUuid:
      return Uuid(b);
    case ValueKind::kLocale:
      return std::string(Pick(b, kLocales));
    default:
      return b.Chance(0.5) ? std::string(Pick(b, kWords))
                           : fmt::format("{}-{}", Pick(b, kWords), Pick(b, kWords));
  }
}

std::string AttributeFaker::Render(const Choice* values, size_t a, Rng* style) const {
  const Column& c = columns_[a];
  const Choice choice = values[a];
  if (choice == kNullChoice) {
    return {};
  }
  if (c.type.kind == TypeKind::kText) {
    return Text(values, c, choice);
  }
  ChoiceBits b(choice, c.salt);
  std::string out;
  switch (c.type.kind) {
    case TypeKind::kText:
      break;
    case TypeKind::kBigint: {
      int64_t v = 0;
      switch (c.kind) {
        case ValueKind::kQuantity:
          v = static_cast<int64_t>(b.Chance(0.7) ? b.Between(1, 5) : b.Between(6, 100));
          break;
        case ValueKind::kAge:
          v = static_cast<int64_t>(b.Between(18, 90));
          break;
        case ValueKind::kYear:
          v = static_cast<int64_t>(b.Between(1950, 2025));
          break;
        case ValueKind::kSigned:
          v = static_cast<int64_t>(b.Below(100001)) - 50000;
          break;
        case ValueKind::kAmount:
          v = static_cast<int64_t>(b.Between(100, 1000000));
          break;
        case ValueKind::kScore:
          v = static_cast<int64_t>(b.Below(1001));
          break;
        case ValueKind::kVersion:
          v = static_cast<int64_t>(b.Between(1, 20));
          break;
        case ValueKind::kRefId:
          v = static_cast<int64_t>(b.Between(1, 1000000));
          break;
        default:
          v = static_cast<int64_t>(
              b.Below(static_cast<uint64_t>(Pow10(static_cast<unsigned>(b.Between(1, 6))))));
          break;
      }
      out = fmt::format("{}", v);
      break;
    }
    case TypeKind::kDouble: {
      int64_t mantissa = 0;
      unsigned decimals = 2;
      switch (c.kind) {
        case ValueKind::kLatitude:
          mantissa = static_cast<int64_t>(b.Below(180000001)) - 90000000;
          decimals = 6;
          break;
        case ValueKind::kLongitude:
          mantissa = static_cast<int64_t>(b.Below(360000001)) - 180000000;
          decimals = 6;
          break;
        case ValueKind::kRating:
          mantissa = static_cast<int64_t>(b.Between(10, 50));
          decimals = 1;
          break;
        case ValueKind::kRatio:
          mantissa = static_cast<int64_t>(b.Below(10001));
          decimals = 4;
          break;
        default:
          mantissa = static_cast<int64_t>(b.Below(1000001));
          break;
      }
      AppendDouble(out, mantissa, decimals, style);
      break;
    }
    case TypeKind::kDecimal: {
      const unsigned scale = c.type.scale;
      const unsigned whole_digits = c.type.precision - c.type.scale;
      const unsigned fraction = std::min(scale, c.kind == ValueKind::kRate ? 4u : 2u);
      UInt128 whole = 0;
      UInt128 part = 0;
      if (c.kind == ValueKind::kRate) {
        if (scale == 0) {
          whole = b.Below(std::min<uint64_t>(101, static_cast<uint64_t>(Pow10(std::min(whole_digits, 3u)))));
        } else {
          part = b.Below(static_cast<uint64_t>(Pow10(fraction)));
        }
      } else {
        const unsigned digits = std::min(whole_digits, 5u);
        whole = digits == 0
                    ? 0
                    : b.Below(static_cast<uint64_t>(Pow10(static_cast<unsigned>(b.Between(1, digits)))));
        const uint64_t cents = static_cast<uint64_t>(Pow10(fraction));
        const uint64_t ending = b.Below(10);
        part = ending < 4 ? cents - 1 : ending < 7 ? 0 : b.Below(cents);  // 19.99, 20.00, 19.37
      }
      const auto unscaled = static_cast<Int128>((whole * Pow10(fraction) + part) * Pow10(scale - fraction));
      const bool negative = c.kind == ValueKind::kBalance && b.Chance(0.3);
      AppendDecimal(out, negative ? -unscaled : unscaled, scale, style);
      break;
    }
    case TypeKind::kBoolean: {
      const double p = c.kind == ValueKind::kMostlyTrue    ? 0.85
                       : c.kind == ValueKind::kMostlyFalse ? 0.1
                                                           : 0.5;
      AppendBoolean(out, b.Chance(p), c.house, style);
      break;
    }
    case TypeKind::kDate: {
      const int64_t today = DayOf(start_);
      int64_t day = today - static_cast<int64_t>(b.Below(3650));
      if (c.kind == ValueKind::kBirthDate) {
        day = today - static_cast<int64_t>(b.Between(18 * 365, 85 * 365));
      } else if (c.kind == ValueKind::kFutureDate) {
        day = today + static_cast<int64_t>(b.Between(1, 3 * 365));
      }
      AppendDate(out, std::clamp(day, kFirstDay, kLastDay));
      break;
    }
    case TypeKind::kTimestamp: {
      const auto seconds = static_cast<Micros>(b.Below(2 * 365 * 86400));
      Micros t = c.kind == ValueKind::kFutureTime ? start_ + seconds * kMicrosPerSecond
                                                  : start_ - seconds * kMicrosPerSecond;
      if (b.Chance(0.3)) {
        t += static_cast<Micros>(b.Below(1000)) * 1000;
      }
      AppendTimestamp(out, std::clamp(t, kFirstDay * kMicrosPerDay, (kLastDay + 1) * kMicrosPerDay - 1),
                      style);
      break;
    }
  }
  return out;
}

}  // namespace dimstream
