#include "warehouse/postgres/pg_values.h"

#include <fmt/format.h>

#include "common/clock.h"
#include "warehouse/postgres/pg_connection.h"

namespace dimstream::pg {
namespace {

// The unscaled value of a decimal as its digits with the point `scale` digits from the right.
std::string DecimalText(Int128 unscaled, int scale) {
  const bool negative = unscaled < 0;
  UInt128 magnitude = negative ? -static_cast<UInt128>(unscaled) : static_cast<UInt128>(unscaled);
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(magnitude % 10)));
    magnitude /= 10;
  } while (magnitude != 0);
  if (scale > 0) {
    if (digits.size() <= static_cast<size_t>(scale)) {
      digits.insert(0, static_cast<size_t>(scale) + 1 - digits.size(), '0');
    }
    digits.insert(digits.size() - static_cast<size_t>(scale), 1, '.');
  }
  return negative ? "-" + digits : digits;
}

}  // namespace

std::string PgTypeName(const ColumnType& type) {
  switch (type.kind) {
    case TypeKind::kText:
      return "TEXT";
    case TypeKind::kBigint:
      return "BIGINT";
    case TypeKind::kDouble:
      return "DOUBLE PRECISION";
    case TypeKind::kDecimal:
      return fmt::format("NUMERIC({},{})", type.precision, type.scale);
    case TypeKind::kBoolean:
      return "BOOLEAN";
    case TypeKind::kDate:
      return "DATE";
    case TypeKind::kTimestamp:
      return "TIMESTAMP";
  }
  return "TEXT";
}

void AppendCopyValue(std::string& out, const TypedColumn& column, size_t row) {
  if (!column.valid[row]) {
    out += "\\N";
    return;
  }
  const ColumnType& type = column.type;
  switch (type.kind) {
    case TypeKind::kText:
      AppendCopyText(out, column.texts[row]);
      return;
    case TypeKind::kBigint:
      out += std::to_string(column.ints[row]);
      return;
    case TypeKind::kDouble:
      // Shortest text that reads back as the same double.
      out += fmt::format("{}", column.doubles[row]);
      return;
    case TypeKind::kDecimal:
      out += DecimalText(type.IsWideDecimal() ? column.wides[row] : Int128{column.ints[row]}, type.scale);
      return;
    case TypeKind::kBoolean:
      out += column.ints[row] != 0 ? "t" : "f";
      return;
    case TypeKind::kDate:
      out += FormatTimestamp(column.ints[row] * kMicrosPerDay).substr(0, 10);
      return;
    case TypeKind::kTimestamp:
      // ISO-8601 with its Z: PostgreSQL reads a TIMESTAMP's zone and drops it; every timestamp here is UTC.
      out += FormatTimestamp(column.ints[row]);
      return;
  }
}

void AppendCopyBytea(std::string& out, std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\\\x";  // the backslash of bytea's hex form, escaped for COPY
  for (char c : bytes) {
    auto b = static_cast<unsigned char>(c);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
}

}  // namespace dimstream::pg
