#pragma once

#include <string>
#include <vector>

namespace dimstream {

// The one way an identifier enters SQL: always double-quoted, embedded quotes doubled. Names from
// configuration are validated as well (config/entity.h); this makes any name safe regardless.
std::string QuoteIdent(const std::string& name);

// "a", "b", "c" (each quoted), optionally prefixed: t."a", t."b".
std::string IdentList(const std::vector<std::string>& names, const std::string& prefix = "");

// A string literal, quotes doubled. Only for DDL and settings, where parameters cannot be bound.
std::string QuoteLiteral(const std::string& value);

}  // namespace dimstream
