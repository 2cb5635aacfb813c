#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace dimstream {

struct QueryResult;

// Writing query results to files, for any other tool to read (`dimstream export`, `run --publish`).
enum class ExportFormat { kParquet, kCsv };

struct ExportTable {
  std::string query;  // a SELECT the caller built from the entity's names (QuoteIdent, QuoteLiteral)
  std::filesystem::path path;
  ExportFormat format = ExportFormat::kParquet;
};

// Every table of a request comes from one snapshot of the warehouse, and so does `info_query`'s result
// (say, the watermarks the files reflect).
struct ExportRequest {
  std::vector<ExportTable> tables;
  std::string info_query;  // empty: none
};

}  // namespace dimstream
