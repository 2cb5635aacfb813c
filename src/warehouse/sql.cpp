#include "warehouse/sql.h"

#include <algorithm>
#include <array>

namespace dimstream {
namespace {

std::string QuoteWith(const std::string& s, char q) {
  std::string out(1, q);
  for (char c : s) {
    out += c;
    if (c == q) {
      out += q;
    }
  }
  out += q;
  return out;
}

bool IsLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool IsWordChar(char c) {
  return IsLetter(c) || (c >= '0' && c <= '9');
}

// Where the text after the comments, whitespace and opening parentheses at `i` begins.
size_t SkipToWord(std::string_view s, size_t i) {
  while (i < s.size()) {
    const char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == '(') {
      ++i;
    } else if (s.substr(i, 2) == "--") {
      const size_t eol = s.find('\n', i);
      i = eol == std::string_view::npos ? s.size() : eol + 1;
    } else if (s.substr(i, 2) == "/*") {
      int depth = 0;
      do {
        if (s.substr(i, 2) == "/*") {
          ++depth;
          i += 2;
        } else if (s.substr(i, 2) == "*/") {
          --depth;
          i += 2;
        } else {
          ++i;
        }
      } while (depth > 0 && i < s.size());
    } else {
      break;
    }
  }
  return i;
}

}  // namespace

std::string FirstKeyword(std::string_view sql, std::string_view* rest) {
  size_t i = SkipToWord(sql, 0);
  std::string word;
  if (i < sql.size() && IsLetter(sql[i])) {
    for (; i < sql.size() && IsWordChar(sql[i]); ++i) {
      const char c = sql[i];
      word.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
    }
  }
  if (rest != nullptr) {
    *rest = sql.substr(i);
  }
  return word;
}

bool IsReadingKeyword(std::string_view keyword) {
  constexpr std::array<std::string_view, 5> kReading = {"SELECT", "WITH", "VALUES", "TABLE", "EXPLAIN"};
  return std::find(kReading.begin(), kReading.end(), keyword) != kReading.end();
}

std::string QuoteIdent(const std::string& name) {
  return QuoteWith(name, '"');
}

std::string QuoteLiteral(const std::string& value) {
  return QuoteWith(value, '\'');
}

std::string IdentList(const std::vector<std::string>& names, const std::string& prefix) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) {
      out += ", ";
    }
    out += prefix + QuoteIdent(names[i]);
  }
  return out;
}

}  // namespace dimstream
