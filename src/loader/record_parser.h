#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "config/entity.h"
#include "loader/record_source.h"
#include "warehouse/load_request.h"

namespace dimstream {

struct ParseOptions {
  uint64_t max_reject_bytes = 65536;
  bool stop_at_first_reject = false;  // on_error = abort_file
};

// One object's records turned into typed rows for the raw table and rejected rows with every reason that
// applies to them (SEMANTICS.md sections 1 and 2). `rows` views the object's content and `arena`, so it
// lives as long as both.
struct ParsedObject {
  bool failed = false;  // the whole object is unreadable (no header, no key column, ...)
  std::string error;
  RawRows rows;
  std::vector<RejectedRow> rejects;
  std::deque<std::string> arena;  // values the source does not keep; a deque keeps their addresses
  uint64_t ignored_columns = 0;   // columns of the file the entity does not declare
};

// Reads every record of `source` and checks it against the entity: its columns by name (case-insensitive,
// any order), every value against its column's type, the operation against the entity's lists. Pure: no
// I/O beyond the source, safe on any bytes.
void ParseRecords(RecordSource& source, const EntitySpec& entity, const ParseOptions& options,
                  ParsedObject& out);

// ParseRecords of CSV `content`.
void ParseObject(std::string_view content, const EntitySpec& entity, const ParseOptions& options,
                 ParsedObject& out);

// NULL-safe hash of a row's values of some columns, each given as its canonical bytes (CanonicalBytes in
// common/typed_value.h) or NULL: the seed's MD5 change-detection columns, done so that NULL is a value.
struct HashInput {
  std::string_view bytes;
  bool null = true;
};
uint64_t HashValues(const std::vector<HashInput>& values);

// `text` cut at `max_bytes` (on a character boundary) with invalid UTF-8 bytes and NUL written as \xNN, so
// that it can be stored and shown.
std::string PrintableUtf8(std::string_view text, size_t max_bytes);

}  // namespace dimstream
