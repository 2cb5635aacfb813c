#include "warehouse/sql.h"

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

}  // namespace

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
