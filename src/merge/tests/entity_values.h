// Types and values as the entity property test understands them (SEMANTICS.md section 1), independent of
// common/: a value by its typed meaning, the text the tables' queries render it as (and the SQL that renders
// it so), and the pools values and keys are drawn from. How values are written in files is
// entity_spellings.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/types.h"
#include "common/value_type.h"
#include "merge/tests/property_support.h"

namespace dimstream::property::declared {

constexpr Micros kDay = 86400LL * 1000000;

enum class Kind { kText, kBigint, kDouble, kDecimal, kBoolean, kDate, kTimestamp };

struct Type {
  Kind kind = Kind::kText;
  int p = 0;  // decimal only
  int s = 0;

  // As an entity's [entity.types] declares it.
  std::string Name() const;
  ColumnType Declared() const;
};

// A value by its meaning: two Vals of one type are equal exactly when their typed values are, and order as
// the type orders (numbers, days and instants numerically, text byte-wise).
struct Val {
  Int128 n = 0;   // bigint; decimal: unscaled; double: in 64ths; boolean: 0/1; date: days since 1970-01-01;
                  // timestamp: microseconds since the epoch, UTC
  std::string s;  // text

  bool operator==(const Val& o) const { return n == o.n && s == o.s; }
  bool operator!=(const Val& o) const { return !(*this == o); }
  bool operator<(const Val& o) const { return n != o.n ? n < o.n : s < o.s; }
};
using Cell = std::optional<Val>;

// The byte the cases' text values hold for a NUL: NUL itself, but U+001F (the unit separator) on PostgreSQL,
// whose TEXT cannot hold a NUL (a NUL in a value fails its file's COPY there). Like NUL, U+001F is one byte
// that sorts before every byte of the sequence texts' alphabet (the lowest, ' ', is 0x20), so a seed draws
// the same case with its texts in the same order. Not U+0001 or U+0002: those mark the load-time
// placeholders in a file's content (property_pipeline.cpp).
constexpr char kNul = kOnPostgres ? '\x1f' : '\0';

Val Num(Int128 n);
Val Txt(std::string s);

Int128 Pow10(int k);
std::string IntText(Int128 v);

// `unscaled` / 10^scale written with exactly `scale` digits after the point (none when scale is 0).
std::string FixedPoint(Int128 unscaled, int scale);

// How the tables' queries render a value (see Norm): the reference writes its expected values so.
std::string Canon(const Type& t, const Val& v);

// The SQL that renders column `name` of type `t` as Canon does, in `engine`'s SQL.
std::string Norm(const std::string& name, const Type& t, Engine engine);

// Days since 1970-01-01 of the date y-m-d.
int64_t DaysOf(int y, unsigned m, unsigned d);

// The values a case draws for a column of type `t`: awkward ones, for a key (`key`) or an attribute.
std::vector<Val> ValuePool(const Type& t, bool key);

}  // namespace dimstream::property::declared
