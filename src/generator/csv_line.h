#pragma once

#include <string>
#include <string_view>

namespace dimstream {

// RFC 4180 output as the seed's files have it: fields separated by ',', a field quoted only when it holds
// a comma, a double quote, a line break or leading/trailing blanks, quotes inside doubled. Rows end with
// CRLF (kCsvLineEnd), written by the caller.
inline constexpr std::string_view kCsvLineEnd = "\r\n";

bool CsvNeedsQuotes(std::string_view value);

// Appends `value` to `line`, quoted when it needs to be. Does not add the separator.
void AppendCsvField(std::string& line, std::string_view value);

}  // namespace dimstream
