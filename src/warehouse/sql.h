#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dimstream {

// The one way an identifier enters SQL: always double-quoted, embedded quotes doubled. Names from
// configuration are validated as well (config/entity.h); this makes any name safe regardless.
std::string QuoteIdent(const std::string& name);

// "a", "b", "c" (each quoted), optionally prefixed: t."a", t."b".
std::string IdentList(const std::vector<std::string>& names, const std::string& prefix = "");

// A string literal, quotes doubled. Only for DDL and settings, where parameters cannot be bound.
std::string QuoteLiteral(const std::string& value);

// The first word of a statement, upper-cased, after whitespace, comments (`--` to the end of the line,
// `/* */`, nested as PostgreSQL nests them) and opening parentheses: "SELECT" for "(select 1)". Empty when
// no word stands there (nothing, a quote, a number, a symbol). `rest`, when given, is set to the text after
// the word (after what was skipped, when there is none).
std::string FirstKeyword(std::string_view sql, std::string_view* rest = nullptr);

// True when a statement beginning with `keyword` (FirstKeyword) is one that reads: SELECT, WITH, VALUES,
// TABLE, EXPLAIN. Only its first word is known: a WITH that deletes, an EXPLAIN ANALYZE of an INSERT and a
// SELECT of a function that writes pass, and the server must refuse them.
bool IsReadingKeyword(std::string_view keyword);

}  // namespace dimstream
