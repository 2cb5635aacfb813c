#pragma once

#include <deque>
#include <string>
#include <string_view>

#include "config/entity.h"
#include "warehouse/warehouse.h"

namespace dimstream {

struct ParseOptions {
  uint64_t max_reject_bytes = 65536;
  bool stop_at_first_reject = false;  // on_error = abort_file
};

// One object's content turned into rows for the raw table and rejected rows with reasons
// (SEMANTICS.md sections 1 and 2). `rows` views `content` and `arena`, so it lives as long as both.
struct ParsedObject {
  bool failed = false;  // the whole object is unreadable (no header, no key column, ...)
  std::string error;
  RawRows rows;
  std::vector<RejectedRow> rejects;
  std::deque<std::string> arena;  // values that had to be unescaped; a deque keeps their addresses
  bool has_event_time = false;
};

// Parses CSV `content` per the entity's columns. Pure: no I/O, safe on any bytes.
void ParseObject(std::string_view content, const EntitySpec& entity, const ParseOptions& options,
                 ParsedObject& out);

// Parses a 64-bit integer key: optional surrounding spaces, an optional sign, leading zeros allowed.
std::optional<int64_t> ParseKey(std::string_view text);

// NULL-safe hash of a row's attributes (the seed's MD5 columns, done so that NULL is a value).
uint64_t HashAttributes(const std::vector<TextRef>& values);

// `text` cut at `max_bytes` (on a character boundary) with invalid UTF-8 bytes and NUL written as \xNN, so
// that it can be stored and shown.
std::string PrintableUtf8(std::string_view text, size_t max_bytes);

}  // namespace dimstream
