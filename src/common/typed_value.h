#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/types.h"
#include "common/value_type.h"

namespace dimstream {

// One value parsed from its text into its column's type (SEMANTICS.md section 1). Which field holds it
// depends on the type; the others are zero.
struct Datum {
  int64_t i = 0;          // bigint; boolean (0 or 1); date (days since 1970-01-01); timestamp (Micros, UTC);
                          // decimal of at most 18 digits (the unscaled value: 1.50 in decimal(4,2) is 150)
  Int128 wide = 0;        // decimal of more than 18 digits: the unscaled value
  double d = 0;           // double: finite, and never -0.0 (it parses as 0.0)
  std::string_view text;  // text: the field as given, not trimmed
};

// Why a text is not a value of a type.
enum class ParseFailure : uint8_t {
  kNone,
  kSyntax,      // not written as the type accepts
  kOutOfRange,  // written right, but outside the type's range (a bigint beyond 64 bits, a decimal with
                // more digits before the point than p - s allows, a double that overflows, a year
                // outside 0001-9999)
  kRounding,    // a decimal with more digits after the point than s that are not all zeros
};

// Parses `text` as a value of `type` into `out`. Text: any bytes, taken as they are (UTF-8 is checked by
// the caller). Every other type ignores spaces and tabs around the value, and accepts:
//   bigint     an optional sign, then decimal digits (leading zeros are fine), within 64 bits
//   double     [+-] digits [. digits] or [+-] . digits, then an optional exponent e[+-]digits; finite
//   decimal    the same forms as double; the value must fit p digits with s after the point; digits after
//              the s-th one must be zeros (1.50 and 1.500 are 1.5 in decimal(4,2); 1.505 is refused)
//   boolean    true/false, t/f, 1/0, yes/no, in any case
//   date       YYYY-MM-DD, a valid day of the years 0001-9999
//   timestamp  what ParseTimestamp (common/clock.h) accepts: ISO-8601 with or without an offset, or a
//              date alone (its midnight), converted to UTC
// An empty text (after the trim, for the types that trim) is a failure (kSyntax) for every type but text:
// the caller decides that an empty field is NULL before it asks.
ParseFailure ParseDatum(const ColumnType& type, std::string_view text, Datum& out);

// "a bigint", "a decimal(10,2)", "an ISO-8601 timestamp (like 2025-01-08T11:11:11Z)", ... with what went
// wrong when it helps: "a decimal(10,2) (it would need rounding)", "a bigint (out of range)". For messages
// of the form `amount "12,5" is not a decimal(10,2)`.
std::string DescribeExpected(const ColumnType& type, ParseFailure failure);

// Appends the order-preserving encoding of `value` (of `type`) to `out`. For two values a and b of one
// type: enc(a) == enc(b) exactly when a == b in the type's equality, and enc(a) < enc(b) in memcmp order
// (a proper prefix sorting first, as std::string compares) exactly when a < b in the type's order (text:
// byte-wise; boolean: false < true; numbers, dates and timestamps numerically). It is also prefix-free,
// so the encodings of several columns appended one after the other compare as the tuple of the values,
// column by column. Fixed widths: bigint, timestamp, double and decimal up to 18 digits 8 bytes (big-endian,
// sign bit flipped; a double's negative values have all bits flipped), wider decimal 16, date 4, boolean 1.
// Text: each 0x00 byte is written 0x00 0xFF, and the value ends with 0x00 0x00.
void AppendOrderedBytes(const ColumnType& type, const Datum& value, std::string& out);

// True for the types whose encoding is one fixed-width value of at most 8 bytes (every type but text and a
// decimal of more than 18 digits): OrderedFloor of such an encoding is exact, and DecodeOrdered reads it
// back.
bool HasCompactEncoding(const ColumnType& type);

// The value whose AppendOrderedBytes is `encoding` (its first bytes), for a type with a compact encoding.
Datum DecodeOrdered(const ColumnType& type, std::string_view encoding);

// The encoding of a timestamp alone: what AppendOrderedBytes gives for ColumnType::Timestamp().
std::string OrderedTimestamp(Micros micros);

// The first 8 bytes of an encoding as a big-endian number, zero-padded when shorter: a <= b (as encodings)
// implies Floor(a) <= Floor(b), so Floor(a) > Floor(b) proves a > b. Exact (a == b when the floors are
// equal) when the encoding is one fixed-width value of at most 8 bytes.
uint64_t OrderedFloor(std::string_view encoding);

// The bytes that stand for `value` in equality and hashing: the text itself for text, the fixed-width
// encoding of AppendOrderedBytes for every other type (written into `scratch`, which the view may point
// into). Equal values give equal bytes, different values different bytes, within one type.
std::string_view CanonicalBytes(const ColumnType& type, const Datum& value, std::string& scratch);

}  // namespace dimstream
