#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/text_arena.h"
#include "config/entity.h"
#include "loader/record_source.h"
#include "warehouse/load_request.h"

namespace dimstream {

struct ParseOptions {
  uint64_t max_reject_bytes = 65536;
  bool stop_at_first_reject = false;  // on_error = abort_file
  // With a batch sink: a batch is handed over once it holds this many rows and rejects, or records of this
  // many bytes, whichever comes first (what bounds a load's memory, with the source's blocks).
  size_t batch_rows = 131072;
  size_t batch_bytes = size_t{32} << 20;
  // Copy every text value into the batch's arena, so that a batch outlives the source's Release (the loader
  // appends one batch while the next is parsed).
  bool own_text = false;
};

// One object's records turned into typed rows for the raw table and rejected rows with every reason that
// applies to them (SEMANTICS.md sections 1 and 2), a batch at a time or whole. `rows` views the source's
// memory and `arena`, so it lives until the source's next Release (or as long as the source, read whole).
struct ParsedObject {
  bool failed = false;  // the whole object is unreadable (no header, no key column, corrupt, ...)
  ErrorKind failure_kind = ErrorKind::kInvalidInput;  // kRetryable: an I/O failure, try the load again
  std::string error;
  RawRows rows;                      // the current batch's
  std::vector<RejectedRow> rejects;  // the current batch's
  TextArena arena;                   // values the source does not keep (with own_text: every text value)
  uint64_t ignored_columns = 0;      // columns of the file the entity does not declare
  uint64_t total_rows = 0;           // over every batch
  uint64_t total_rejects = 0;
  std::optional<RejectedRow> first_reject;  // for the message of on_error = skip_file / abort_file

  // Moves the current batch (rows, rejects, arena) into `to`, leaving this one empty with the same columns.
  void MoveBatchTo(ParsedObject& to);
};

// Takes a batch (out.rows and out.rejects); once it returns Ok the parser clears them and the arena and
// releases the source. An error stops the parse, which returns it.
using BatchSink = std::function<Status(ParsedObject& batch)>;

// Reads every record of `source` and checks it against the entity: its columns by name (case-insensitive,
// any order), every value against its column's type, the operation against the entity's lists. Pure: no
// I/O beyond the source, safe on any bytes.
// With `sink`, hands over batches as they fill up and the last one at the end; without, keeps every row in
// `out`. Returns the sink's error, if any.
Status ParseRecords(RecordSource& source, const EntitySpec& entity, const ParseOptions& options,
                    ParsedObject& out, const BatchSink& sink = {});

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
