#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "warehouse/warehouse.h"

namespace dimstream {

enum class OutputFormat { kTable, kCsv, kJson };

Result<OutputFormat> ParseOutputFormat(const std::string& text);

// table: aligned columns with a header rule, NULL shown as NULL; csv: a header line then RFC 4180 rows,
// NULL as an empty field and an empty string as ""; json: an array of objects.
std::string FormatResult(const QueryResult& result, OutputFormat format);

// The rows as JSON objects, column name -> value (numbers and booleans as such): FormatResult's json.
nlohmann::ordered_json ResultJson(const QueryResult& result);

// "1 file", "2 files": a count with its noun, for summaries.
std::string Counted(uint64_t n, const std::string& one, const std::string& many);

// The wire form between `sql`/`status` and a running process's query server.
std::string SerializeResult(const QueryResult& result);
Result<QueryResult> DeserializeResult(const std::string& text);

}  // namespace dimstream
