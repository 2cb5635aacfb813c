#include "generator/csv_line.h"

namespace dimstream {

bool CsvNeedsQuotes(std::string_view value) {
  if (value.empty()) {
    return false;
  }
  // Readers that trim unquoted fields would lose edge blanks; quoting keeps them.
  if (value.front() == ' ' || value.back() == ' ' || value.front() == '\t' || value.back() == '\t') {
    return true;
  }
  return value.find_first_of(",\"\r\n") != std::string_view::npos;
}

void AppendCsvField(std::string& line, std::string_view value) {
  if (!CsvNeedsQuotes(value)) {
    line += value;
    return;
  }
  line += '"';
  for (char c : value) {
    if (c == '"') {
      line += '"';
    }
    line += c;
  }
  line += '"';
}

}  // namespace dimstream
