#include "generator/customer_faker.h"

#include <algorithm>

#include <fmt/format.h>

namespace dimstream {
namespace {

// Reserved for documentation (RFC 2606), so that no generated address can reach a real mailbox.
constexpr std::array<std::string_view, 5> kEmailDomains = {"example.com", "example.net", "example.org",
                                                           "mail.example.com", "inbox.example.net"};
constexpr uint16_t kEmailStyles = 6;

// Unit designators after the street, with their weights in percent. Kinds 4 and 5 hold a comma, so that
// quoting is exercised by ordinary rows and not only by malformed ones.
struct UnitFormat {
  uint16_t percent;
  const char* format;  // {0} = unit number, {1} = floor
};
constexpr std::array<UnitFormat, 6> kUnitFormats = {{
    {55, ""},
    {25, " Apt. {0:03}"},
    {12, " Suite {0:03}"},
    {4, " Unit {0}"},
    {2, " Apt. {0}, Rear"},
    {2, " Unit {0}, Floor {1}"},
}};

// Share of customers that live in the home country; the rest are spread evenly over the others.
constexpr double kHomeCountryShare = 0.8;
// Share of moves that cross a border.
constexpr double kEmigrateShare = 0.1;

// ASCII folding of the Latin-1 supplement, U+00C0..U+00FF.
constexpr std::array<std::string_view, 64> kLatin1Fold = {
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",   //
    "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "ss",  //
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",   //
    "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "y"};
// ASCII folding of Latin Extended-A, U+0100..U+017F: one base letter each.
constexpr std::string_view kLatinExtAFold =
    "aaaaaaccccccccdd"
    "ddeeeeeeeeeegggg"
    "gggghhhhiiiiiiii"
    "iiiijjkkklllllll"
    "lllnnnnnnnnnoooo"
    "oooorrrrrrssssss"
    "ssttttttuuuuuuuu"
    "uuuuwwyyyzzzzzzs";

std::string_view FoldCodePoint(uint32_t cp) {
  if (cp >= 0xC0 && cp <= 0xFF) {
    return kLatin1Fold[cp - 0xC0];
  }
  if (cp >= 0x100 && cp <= 0x17F) {
    return kLatinExtAFold.substr(cp - 0x100, 1);
  }
  if (cp == 0x1A0 || cp == 0x1A1) {
    return "o";
  }
  if (cp == 0x1AF || cp == 0x1B0) {
    return "u";
  }
  // Vietnamese letters with two diacritics (Latin Extended Additional).
  if (cp >= 0x1EA0 && cp <= 0x1EB7) {
    return "a";
  }
  if (cp >= 0x1EB8 && cp <= 0x1EC7) {
    return "e";
  }
  if (cp >= 0x1EC8 && cp <= 0x1ECB) {
    return "i";
  }
  if (cp >= 0x1ECC && cp <= 0x1EE3) {
    return "o";
  }
  if (cp >= 0x1EE4 && cp <= 0x1EF1) {
    return "u";
  }
  if (cp >= 0x1EF2 && cp <= 0x1EF9) {
    return "y";
  }
  return "";
}

// Decodes the UTF-8 sequence at text[i]; returns its length (1 for a stray byte, which maps to U+FFFD).
size_t DecodeUtf8(std::string_view text, size_t i, uint32_t& cp) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  size_t len = 1;
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    cp = 0xFFFD;
    return 1;
  }
  if (i + len > text.size()) {
    cp = 0xFFFD;
    return 1;
  }
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xC0) != 0x80) {
      cp = 0xFFFD;
      return 1;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  return len;
}

// `name` in Latin-1 if it has a non-ASCII letter and every letter fits in one byte; empty otherwise.
std::string ToLatin1(std::string_view name) {
  std::string out;
  bool non_ascii = false;
  for (size_t i = 0; i < name.size();) {
    uint32_t cp = 0;
    i += DecodeUtf8(name, i, cp);
    if (cp > 0xFF) {
      return {};
    }
    non_ascii = non_ascii || cp >= 0x80;
    out += static_cast<char>(static_cast<unsigned char>(cp));
  }
  return non_ascii ? out : std::string();
}

uint32_t DrawUnitKind(Rng& rng) {
  uint64_t roll = rng.Uniform(100);
  for (uint16_t kind = 0; kind < kUnitFormats.size(); ++kind) {
    if (roll < kUnitFormats[kind].percent) {
      return kind;
    }
    roll -= kUnitFormats[kind].percent;
  }
  return 0;
}

uint8_t Bit(Attribute a) {
  return static_cast<uint8_t>(1u << static_cast<unsigned>(a));
}

}  // namespace

std::string EmailLocalPart(std::string_view name) {
  std::string out;
  bool in_quotes = false;
  for (size_t i = 0; i < name.size();) {
    uint32_t cp = 0;
    i += DecodeUtf8(name, i, cp);
    if (cp == '"') {
      in_quotes = !in_quotes;
    } else if (in_quotes) {
      continue;
    } else if (cp >= 'A' && cp <= 'Z') {
      out += static_cast<char>(cp - 'A' + 'a');
    } else if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9')) {
      out += static_cast<char>(cp);
    } else if (cp >= 0x80) {
      out += FoldCodePoint(cp);
    }
  }
  return out.empty() ? "customer" : out;
}

CustomerFaker::CustomerFaker(double null_share)
    : words_(Words()), null_share_(null_share), home_country_(0), has_home_country_(false) {
  const auto home = std::find(words_.countries.begin(), words_.countries.end(), "United States");
  if (home != words_.countries.end()) {
    home_country_ = static_cast<uint32_t>(home - words_.countries.begin());
    has_home_country_ = true;
  }
  for (const auto* list : {&words_.first_names, &words_.last_names}) {
    for (std::string_view name : *list) {
      std::string latin1 = ToLatin1(name);
      if (!latin1.empty()) {
        latin1_names_.push_back(std::move(latin1));
      }
    }
  }
  if (latin1_names_.empty()) {
    latin1_names_.push_back("Jos\xE9");
  }
}

uint8_t CustomerFaker::DrawNulls(Rng& rng, uint8_t mask, std::initializer_list<Attribute> attributes) const {
  for (Attribute a : attributes) {
    // No draw at all when NULLs are off, so that --null-share 0 leaves the rest of the stream as it was.
    if (null_share_ > 0 && rng.Bernoulli(null_share_)) {
      mask = static_cast<uint8_t>(mask | Bit(a));
    } else {
      mask = static_cast<uint8_t>(mask & ~Bit(a));
    }
  }
  return mask;
}

void CustomerFaker::DrawName(Rng& rng, Customer& c) const {
  c.first_name = rng.PickIndex(words_.first_names);
  c.last_name = rng.PickIndex(words_.last_names);
}

void CustomerFaker::DrawEmail(Rng& rng, Customer& c) const {
  c.email_style = static_cast<uint16_t>(rng.Uniform(kEmailStyles));
  c.email_domain = static_cast<uint16_t>(rng.Uniform(kEmailDomains.size()));
  c.email_number = rng.Bernoulli(0.6) ? static_cast<uint32_t>(rng.Between(1, 999)) : 0;
}

void CustomerFaker::DrawStreet(Rng& rng, Customer& c) const {
  // Three to five digits, like most US house numbers.
  static constexpr std::array<uint32_t, 3> kLow = {100, 1000, 10000};
  const uint32_t low = kLow[rng.Uniform(kLow.size())];
  c.house_number = static_cast<uint32_t>(rng.Between(low, low * 10 - 1));
  c.street_name = rng.PickIndex(words_.street_names);
  c.street_suffix = static_cast<uint16_t>(rng.PickIndex(words_.street_suffixes));
  c.unit_kind = static_cast<uint16_t>(DrawUnitKind(rng));
  c.unit_number = static_cast<uint32_t>(rng.Between(1, 999));
}

uint32_t CustomerFaker::DrawCountry(Rng& rng) const {
  if (has_home_country_ && rng.Bernoulli(kHomeCountryShare)) {
    return home_country_;
  }
  return rng.PickIndex(words_.countries);
}

Customer CustomerFaker::New(Rng& rng) const {
  Customer c;
  DrawName(rng, c);
  DrawEmail(rng, c);
  DrawStreet(rng, c);
  c.city = rng.PickIndex(words_.cities);
  c.country = DrawCountry(rng);
  c.null_mask = DrawNulls(rng, 0,
                          {Attribute::kFirstName, Attribute::kLastName, Attribute::kEmail, Attribute::kStreet,
                           Attribute::kCity, Attribute::kState, Attribute::kCountry});
  return c;
}

void CustomerFaker::ChangeName(Rng& rng, Customer& c) const {
  const std::string email_before = Email(c);
  const uint64_t what = rng.Uniform(100);
  if (what < 45) {
    c.last_name = rng.PickIndex(words_.last_names);
  } else if (what < 60) {
    c.first_name = rng.PickIndex(words_.first_names);
  }
  DrawEmail(rng, c);
  if (Email(c) == email_before) {
    // The draw repeated itself (or "García" became "Garcia"): a change must change something.
    c.email_number = c.email_number % 999 + 1;
  }
  c.null_mask = DrawNulls(rng, c.null_mask, {Attribute::kFirstName, Attribute::kLastName, Attribute::kEmail});
}

void CustomerFaker::ChangeAddress(Rng& rng, Customer& c) const {
  const uint32_t old_city = c.city;
  DrawStreet(rng, c);
  if (words_.cities.size() > 1) {
    // Another city: drawn from the others, so that a move always changes it.
    c.city =
        static_cast<uint32_t>((old_city + 1 + rng.Uniform(words_.cities.size() - 1)) % words_.cities.size());
  }
  if (rng.Bernoulli(kEmigrateShare)) {
    c.country = DrawCountry(rng);
  }
  c.null_mask = DrawNulls(rng, c.null_mask,
                          {Attribute::kStreet, Attribute::kCity, Attribute::kState, Attribute::kCountry});
}

std::string CustomerFaker::Email(const Customer& c) const {
  const std::string first = EmailLocalPart(words_.first_names[c.first_name]);
  const std::string last = EmailLocalPart(words_.last_names[c.last_name]);
  const std::string number = c.email_number == 0 ? std::string() : fmt::format("{}", c.email_number);
  std::string local;
  switch (c.email_style) {
    case 0:
      local = first + "." + last + number;
      break;
    case 1:
      local = first + last + number;
      break;
    case 2:
      local = first.substr(0, 1) + "." + last + number;
      break;
    case 3:
      local = first + "_" + last + number;
      break;
    case 4:
      local = last + "." + first + number;
      break;
    default:
      local = first.substr(0, 1) + last + number;
      break;
  }
  return local + "@" + std::string(kEmailDomains[c.email_domain % kEmailDomains.size()]);
}

std::string CustomerFaker::Street(const Customer& c) const {
  std::string street = fmt::format("{} {} {}", c.house_number, words_.street_names[c.street_name],
                                   words_.street_suffixes[c.street_suffix]);
  const char* unit = kUnitFormats[c.unit_kind % kUnitFormats.size()].format;
  street += fmt::format(fmt::runtime(unit), c.unit_number, c.unit_number % 7 + 2);
  return street;
}

Attributes CustomerFaker::Render(const Customer& c) const {
  Attributes a;
  const City& city = words_.cities[c.city];
  a[static_cast<size_t>(Attribute::kFirstName)] = words_.first_names[c.first_name];
  a[static_cast<size_t>(Attribute::kLastName)] = words_.last_names[c.last_name];
  a[static_cast<size_t>(Attribute::kEmail)] = Email(c);
  a[static_cast<size_t>(Attribute::kStreet)] = Street(c);
  a[static_cast<size_t>(Attribute::kCity)] = city.name;
  a[static_cast<size_t>(Attribute::kState)] = city.state;
  a[static_cast<size_t>(Attribute::kCountry)] = words_.countries[c.country];
  for (size_t i = 0; i < kAttributeCount; ++i) {
    if ((c.null_mask >> i) & 1u) {
      a[i].clear();
    }
  }
  return a;
}

std::string CustomerFaker::Latin1Name(Rng& rng) const {
  return latin1_names_[rng.PickIndex(latin1_names_)];
}

}  // namespace dimstream
