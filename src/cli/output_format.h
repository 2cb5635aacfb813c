#pragma once

#include <string>

#include "common/error.h"
#include "warehouse/warehouse.h"

namespace dimstream {

enum class OutputFormat { kTable, kCsv, kJson };

Result<OutputFormat> ParseOutputFormat(const std::string& text);

// table: aligned columns with a header rule, NULL shown as NULL; csv: a header line then RFC 4180 rows,
// NULL as an empty field and an empty string as ""; json: an array of objects.
std::string FormatResult(const QueryResult& result, OutputFormat format);

// The wire form between `sql`/`status` and a running process's query server.
std::string SerializeResult(const QueryResult& result);
Result<QueryResult> DeserializeResult(const std::string& text);

}  // namespace dimstream
