#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/types.h"
#include "common/value_type.h"
#include "generator/random.h"

// How the generator writes typed values (keys, attributes and sequences of declared entities) the way the
// loader reads them (common/typed_value.h), in more than one spelling where the type allows it, and how it
// writes values the loader must refuse. Pure functions; the Rng, when given, is the caller's.
namespace dimstream {

// The 64-bit finalizer of splitmix64: a bijection that scatters nearby inputs. Used to derive values from
// choices and per-entity decisions from names, never for the stream's draws (those come from Rng).
uint64_t Mix64(uint64_t x);
// FNV-1a of `text`, for decisions that must follow a name (an entity's key shape), not the seed.
uint64_t HashName(std::string_view text);

// Draws from one 64-bit choice: what a column renders from the choice stored for it, so that the same
// choice always renders the same value. Owns its state only.
class ChoiceBits {
 public:
  ChoiceBits(uint64_t choice, uint64_t salt) : state_(Mix64(choice ^ Mix64(salt))) {}
  uint64_t Next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return Mix64(state_);
  }
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }  // bias below 2^-40 for our sizes
  uint64_t Between(uint64_t lo, uint64_t hi) { return lo + Below(hi - lo + 1); }
  bool Chance(double p) { return static_cast<double>(Next() >> 11) * 0x1.0p-53 < p; }

 private:
  uint64_t state_;
};

// Spellings of typed values, shared by keys, attributes and sequences (what common/typed_value.h's
// ParseDatum accepts). With `style` null each writes the canonical spelling, which is one text per value;
// with an Rng it now and then writes another spelling of the same value, which the loader must find equal
// (SEMANTICS.md section 1): trailing zeros dropped or added, a timestamp with an offset, "TRUE" for "true".
//
// decimal: `unscaled` in units of 10^-scale; canonical with exactly `scale` digits after the point.
void AppendDecimal(std::string& out, Int128 unscaled, unsigned scale, Rng* style);
// double: the decimal number mantissa * 10^-decimals, canonical in fixed notation without trailing zeros;
// other spellings add zeros or use an exponent. Decimal text parses to the nearest double, so every
// spelling of one number is the same double.
void AppendDouble(std::string& out, int64_t mantissa, unsigned decimals, Rng* style);
// boolean: `house` picks the spelling a source uses most (true/false, t/f, 1/0, yes/no, upper case...).
void AppendBoolean(std::string& out, bool value, unsigned house, Rng* style);
// date: YYYY-MM-DD of `days` since 1970-01-01 (the only spelling the loader accepts).
void AppendDate(std::string& out, int64_t days);
// timestamp: ISO-8601 in UTC ("Z"); other spellings use an offset ("+05:30"), a space or no "Z".
void AppendTimestamp(std::string& out, Micros t, Rng* style);

// A text that is not a value of `type` ("12,5" in a decimal, "maybe" in a boolean, "2025-13-01" in a
// date), never empty; `good` is a valid spelling to break. Empty for text, which accepts any UTF-8.
std::string NotOfType(Rng& rng, const ColumnType& type, std::string_view good);

// Days since 1970-01-01 of the UTC day of `t`.
int64_t DayOf(Micros t);

}  // namespace dimstream
