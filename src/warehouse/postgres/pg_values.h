#pragma once

#include <string>

#include "common/value_type.h"
#include "warehouse/load_request.h"

// Typed values as PostgreSQL reads them in COPY's text format.
namespace dimstream::pg {

// PostgreSQL's type for a declared column type: TEXT, BIGINT, DOUBLE PRECISION, NUMERIC(p,s), BOOLEAN, DATE,
// TIMESTAMP.
std::string PgTypeName(const ColumnType& type);

// Appends row `row` of `column` to `out` in COPY's text format (\N for NULL).
void AppendCopyValue(std::string& out, const TypedColumn& column, size_t row);

// Appends bytes as a bytea in COPY's text format (\\x and hex digits).
void AppendCopyBytea(std::string& out, std::string_view bytes);

}  // namespace dimstream::pg
