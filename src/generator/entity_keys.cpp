#include "generator/entity_keys.h"

#include <algorithm>
#include <array>
#include <limits>

#include <fmt/format.h>

#include "common/clock.h"

#include "config/entity.h"
#include "generator/entity_values.h"

namespace dimstream {
namespace {

constexpr uint64_t kMaxCapacity = uint64_t{1} << 63;
constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

const std::vector<std::string>& Tenants() {
  static const std::vector<std::string> kTenants = {"acme",   "globex",    "initech", "umbrella",
                                                    "hooli",  "wayne",     "stark",   "wonka",
                                                    "tyrell", "cyberdyne", "soylent", "vandelay"};
  return kTenants;
}
const std::vector<std::string>& Regions() {
  static const std::vector<std::string> kRegions = {"us-east-1", "us-west-2",  "eu-central-1",
                                                    "eu-west-1", "ap-south-1", "ap-northeast-1"};
  return kRegions;
}
const std::vector<std::string>& CountryCodes() {
  static const std::vector<std::string> kCodes = {"US", "DE", "FR", "GB", "NL", "ES", "IT", "CA"};
  return kCodes;
}
const std::vector<std::string>& Environments() {
  static const std::vector<std::string> kEnvironments = {"prod", "staging", "dev"};
  return kEnvironments;
}
const std::vector<std::string>& Sources() {
  static const std::vector<std::string> kSources = {"web", "pos", "mobile", "partner", "api"};
  return kSources;
}

bool Has(const std::string& name, std::string_view part) {
  return name.find(part) != std::string::npos;
}

// A key column whose name says it only tells keys apart within something else: a tenant, a region, a
// line of an order.
bool CategoryByName(const std::string& n) {
  for (std::string_view part :
       {"tenant", "region", "zone", "site", "shard", "partition", "country", "env", "source", "system",
        "channel", "company", "org", "locale", "lang", "line", "position", "version", "store"}) {
    if (Has(n, part)) {
      return true;
    }
  }
  return false;
}

// A bijection of [0, 2^bits): multiplications by odd numbers and right xor-shifts, each invertible modulo
// 2^bits, so that consecutive offsets give codes that look unrelated and never repeat.
uint64_t Permute(uint64_t x, unsigned bits, uint64_t salt) {
  const uint64_t mask = (uint64_t{1} << bits) - 1;
  x = (x ^ salt) & mask;
  x = (x * 0x9E3779B97F4A7C15ULL) & mask;
  x ^= x >> (bits / 2);
  x = (x * 0xBF58476D1CE4E5B9ULL) & mask;
  x ^= x >> (bits / 3);
  return x;
}

std::string Base32(uint64_t v, size_t length) {
  std::string out(length, '0');
  for (size_t i = length; i-- > 0;) {
    out[i] = kCrockford[v & 31];
    v >>= 5;
  }
  return out;
}

uint64_t SaturatingMul(uint64_t a, uint64_t b) {
  if (a != 0 && b > kMaxCapacity / a) {
    return kMaxCapacity;
  }
  return std::min(a * b, kMaxCapacity);
}

uint64_t Pow10(unsigned n) {
  uint64_t v = 1;
  for (unsigned i = 0; i < n && i < 18; ++i) {
    v *= 10;
  }
  return v;
}

// `t` rounded down to a multiple of `unit`.
Micros FloorTo(Micros t, Micros unit) {
  const Micros rest = ((t % unit) + unit) % unit;
  return t - rest;
}

// Whole numbers for a decimal key when p - s leaves room for them, else units of the last digit.
bool WholeDecimalKeys(const ColumnType& t) {
  return t.precision - t.scale >= 6;
}

}  // namespace

KeyFaker::KeyFaker(const EntitySpec& entity, uint64_t first_key, Micros start)
    : first_key_(first_key), start_(start) {
  for (const std::string& name : entity.key_columns) {
    Column c;
    c.name = name;
    c.type = entity.TypeOf(name);
    c.salt = HashName(entity.name + "." + name);
    columns_.push_back(std::move(c));
  }
  // The column that counts: see the class comment.
  int main = -1;
  auto pick = [&](auto&& wanted) {
    for (size_t j = 0; j < columns_.size() && main < 0; ++j) {
      if (wanted(columns_[j])) {
        main = static_cast<int>(j);
      }
    }
  };
  if (columns_.size() == 1) {
    main = 0;
  }
  pick([](const Column& c) { return c.type.kind == TypeKind::kBigint && !CategoryByName(c.name); });
  pick([](const Column& c) { return c.type.kind == TypeKind::kText && !CategoryByName(c.name); });
  pick([](const Column& c) { return c.type.kind != TypeKind::kBoolean && !CategoryByName(c.name); });
  for (size_t j = columns_.size(); j-- > 0 && main < 0;) {
    if (columns_[j].type.kind != TypeKind::kBoolean) {
      main = static_cast<int>(j);
    }
  }

  capacity_ = 1;
  for (size_t j = 0; j < columns_.size(); ++j) {
    Column& c = columns_[j];
    c.main = static_cast<int>(j) == main;
    switch (c.type.kind) {
      case TypeKind::kText:
        if (c.main) {
          const uint64_t shape = c.salt % 3;
          c.shape = Has(c.name, "uuid") || Has(c.name, "guid") ? Shape::kUuid
                    : Has(c.name, "sku")                       ? Shape::kSku
                    : Has(c.name, "code")                      ? Shape::kCode
                    : shape == 0                               ? Shape::kUuid
                    : shape == 1                               ? Shape::kSku
                                                               : Shape::kCode;
          static constexpr std::array<std::string_view, 4> kPrefixes = {"SKU", "PRD", "ITM", "ART"};
          c.prefix = Has(c.name, "sku") ? "SKU" : std::string(kPrefixes[(c.salt >> 8) % kPrefixes.size()]);
        } else {
          c.shape = Shape::kSmallSet;
          if (Has(c.name, "region") || Has(c.name, "zone") || Has(c.name, "site") || Has(c.name, "shard")) {
            c.set = &Regions();
          } else if (Has(c.name, "country")) {
            c.set = &CountryCodes();
          } else if (Has(c.name, "env")) {
            c.set = &Environments();
          } else if (Has(c.name, "source") || Has(c.name, "system") || Has(c.name, "channel")) {
            c.set = &Sources();
          } else {
            c.set = &Tenants();
          }
          c.radix = std::min<uint64_t>(c.set->size(), 3 + c.salt % 6);
        }
        break;
      case TypeKind::kBigint:
      case TypeKind::kDouble:
      case TypeKind::kDecimal:
        c.shape = Shape::kNumber;
        c.radix = 2 + c.salt % 4;  // line numbers 1..2 to 1..5
        break;
      case TypeKind::kDate:
        c.shape = Shape::kDays;
        c.radix = 7;
        break;
      case TypeKind::kTimestamp:
        c.shape = Shape::kSeconds;
        c.radix = 24;
        break;
      case TypeKind::kBoolean:
        c.shape = Shape::kBoolean;
        c.radix = 2;
        break;
    }
    if (!c.main) {
      capacity_ = SaturatingMul(capacity_, c.radix);
      continue;
    }
    uint64_t room = kMaxCapacity;
    switch (c.type.kind) {
      case TypeKind::kText:
        room = c.shape == Shape::kUuid ? uint64_t{1} << 62 : kMaxCapacity;
        break;
      case TypeKind::kBigint:
        room = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) -
               std::min(first_key, kMaxCapacity - 1) + 1;
        break;
      case TypeKind::kDouble: {
        const uint64_t exact = uint64_t{1} << 53;  // integers a double holds exactly
        room = first_key >= exact ? 0 : exact - first_key;
        break;
      }
      case TypeKind::kDecimal: {
        const unsigned digits = WholeDecimalKeys(c.type) ? c.type.precision - c.type.scale : c.type.precision;
        const uint64_t limit = digits >= 18 ? Pow10(18) : Pow10(digits);
        room = first_key >= limit ? 0 : limit - first_key;
        break;
      }
      case TypeKind::kDate:
        room = static_cast<uint64_t>(std::max<int64_t>(0, kLastDay - DayOf(start) + 1));
        break;
      case TypeKind::kTimestamp:
        room = static_cast<uint64_t>(std::max<int64_t>(
            0, (kLastDay + 1) * 86400 - FloorTo(start, kMicrosPerSecond) / kMicrosPerSecond));
        break;
      case TypeKind::kBoolean:
        room = 2;
        break;
    }
    capacity_ = SaturatingMul(capacity_, room);
  }
}

void KeyFaker::RenderOne(const Column& c, uint64_t n, Rng* style, std::string& out) const {
  // A non-main column takes the values 0..radix-1 of its digit; numbers among them start at 1.
  const uint64_t number = c.main ? first_key_ + n : 1 + n;
  switch (c.shape) {
    case Shape::kNumber:
      if (c.type.kind == TypeKind::kBigint) {
        out += fmt::format("{}", number);
      } else if (c.type.kind == TypeKind::kDouble) {
        AppendDouble(out, static_cast<int64_t>(number), 0, style);
      } else {
        const bool whole = c.main ? WholeDecimalKeys(c.type) : c.type.precision > c.type.scale;
        Int128 unscaled = static_cast<Int128>(number);
        for (unsigned i = 0; whole && i < c.type.scale; ++i) {
          unscaled *= 10;
        }
        AppendDecimal(out, unscaled, c.type.scale, style);
      }
      return;
    case Shape::kUuid: {
      const uint64_t hi = Mix64(n ^ c.salt);
      const uint64_t lo = Permute(n, 62, c.salt);
      out += fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xFFFF, hi & 0xFFF,
                         0x8000 | ((lo >> 48) & 0x3FFF), lo & 0xFFFFFFFFFFFFULL);
      return;
    }
    case Shape::kSku:
      out += fmt::format("{}-{:06}", c.prefix, number);
      return;
    case Shape::kCode:
      // Six characters for the first 2^30 keys; thirteen (a different length, so no clash) after them.
      out += n < (uint64_t{1} << 30) ? Base32(Permute(n, 30, c.salt), 6) : Base32(n, 13);
      return;
    case Shape::kSmallSet:
      out += (*c.set)[n % c.set->size()];
      return;
    case Shape::kDays:
      AppendDate(out, DayOf(start_) + static_cast<int64_t>(n));
      return;
    case Shape::kSeconds: {
      // Seconds from --start-time for the counting column, hours of its day for the others.
      const Micros step = c.main ? kMicrosPerSecond : 3600 * kMicrosPerSecond;
      AppendTimestamp(out, FloorTo(start_, step) + static_cast<Micros>(n) * step, style);
      return;
    }
    case Shape::kBoolean:
      AppendBoolean(out, n % 2 == 1, static_cast<unsigned>(c.salt % 6), style);
      return;
  }
}

void KeyFaker::Render(uint64_t offset, Rng* style, std::vector<std::string>& fields) const {
  // Mixed radix: the non-main columns take the low digits, so consecutive keys spread over tenants.
  std::vector<uint64_t> digits(columns_.size(), 0);
  uint64_t rest = offset;
  for (size_t j = 0; j < columns_.size(); ++j) {
    if (!columns_[j].main) {
      digits[j] = rest % columns_[j].radix;
      rest /= columns_[j].radix;
    }
  }
  for (size_t j = 0; j < columns_.size(); ++j) {
    if (columns_[j].main) {
      digits[j] = rest;
    }
    std::string value;
    RenderOne(columns_[j], digits[j], style, value);
    fields.push_back(std::move(value));
  }
}

}  // namespace dimstream
