#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"

namespace dimstream {

// The types a declared column may have (SEMANTICS.md section 1).
enum class TypeKind : uint8_t { kText, kBigint, kDouble, kDecimal, kBoolean, kDate, kTimestamp };

// A column's declared type. Plain value; compared and copied freely.
struct ColumnType {
  TypeKind kind = TypeKind::kText;
  uint8_t precision = 0;  // decimal only: 1..38 digits in all
  uint8_t scale = 0;      // decimal only: 0..precision digits after the point

  static ColumnType Text() { return {}; }
  static ColumnType Bigint() { return {TypeKind::kBigint, 0, 0}; }
  static ColumnType Timestamp() { return {TypeKind::kTimestamp, 0, 0}; }

  bool operator==(const ColumnType&) const = default;

  // As the configuration spells it: "text", "bigint", "double", "decimal(12,2)", "boolean", "date",
  // "timestamp".
  std::string Name() const;
  // DuckDB's spelling: VARCHAR, BIGINT, DOUBLE, DECIMAL(12,2), BOOLEAN, DATE, TIMESTAMP.
  std::string SqlName() const;
  // A decimal wider than 18 digits keeps its unscaled value in 128 bits (Datum::wide); every other
  // decimal, and every integer-like type, in 64 (Datum::i).
  bool IsWideDecimal() const { return kind == TypeKind::kDecimal && precision > 18; }
};

// Parses a type as the configuration spells it, case-insensitively, with optional spaces inside the
// parentheses of decimal(p,s). kInvalidInput naming the accepted spellings otherwise (and the range for p
// and s). Pure.
Result<ColumnType> ParseColumnType(std::string_view name);

}  // namespace dimstream
