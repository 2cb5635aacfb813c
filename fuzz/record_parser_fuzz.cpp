// Fuzz target: ParseObject (src/loader/record_parser.h) on arbitrary bytes, with the default customer
// EntitySpec, once with on_error = continue and once with stop_at_first_reject (abort_file) and a small
// max_reject_bytes.
//
// Properties: the columns of the accepted rows have one entry per row; lines of rows and rejects are
// distinct and increasing; ops are I, U or D; accepted values are valid UTF-8 and their hashes are the
// hashes of those values; a reject's raw text is valid UTF-8 and no longer than max_reject_bytes; a failed
// object has an error and nothing else; and the abort_file run is the continue run cut at its first
// reject. Every view is read, so that AddressSanitizer sees one that outlived its bytes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/utf8.h"
#include "config/entity.h"
#include "fuzz_check.h"
#include "loader/record_parser.h"

namespace {

using namespace dimstream;  // NOLINT(google-build-using-namespace)
using dimstream::fuzz::Escaped;

uint64_t Touch(std::string_view s) {
  uint64_t sum = 0;
  for (char c : s) {
    sum += static_cast<unsigned char>(c);
  }
  return sum;
}

void CheckObject(const ParsedObject& p, const EntitySpec& entity, const ParseOptions& options,
                 std::string_view in) {
  auto where = [&] { return "input " + Escaped(in); };
  if (p.failed) {
    FUZZ_CHECK(!p.error.empty(), "a failed object without an error\n" + where());
    FUZZ_CHECK(p.rows.size() == 0 && p.rejects.empty(), "a failed object with rows or rejects\n" + where());
    return;
  }
  const RawRows& r = p.rows;
  const size_t n = r.size();
  const size_t scd1 = entity.scd1_columns.size();
  FUZZ_CHECK(r.attributes.size() == entity.attribute_columns().size(), "attribute column count\n" + where());
  FUZZ_CHECK(r.op.size() == n && r.line.size() == n && r.scd1_hash.size() == n && r.scd2_hash.size() == n,
             "row columns differ in length\n" + where());
  FUZZ_CHECK(r.event_time.size() == (p.has_event_time ? n : 0), "event_time column length\n" + where());
  for (const auto& column : r.attributes) {
    FUZZ_CHECK(column.size() == n, "an attribute column differs in length\n" + where());
  }
  volatile uint64_t sink = 0;
  for (size_t i = 0; i < n; ++i) {
    FUZZ_CHECK(r.op[i] == 'I' || r.op[i] == 'U' || r.op[i] == 'D',
               "op " + std::to_string(r.op[i]) + "\n" + where());
    FUZZ_CHECK(i == 0 || r.line[i] > r.line[i - 1], "row lines not increasing\n" + where());
    if (p.has_event_time) {
      FUZZ_CHECK(r.event_time[i].has_value(), "an accepted row without its event time\n" + where());
    }
    std::vector<TextRef> a(scd1);
    std::vector<TextRef> b;
    for (size_t c = 0; c < r.attributes.size(); ++c) {
      const TextRef& v = r.attributes[c][i];
      sink = sink + Touch(v.value);
      FUZZ_CHECK(v.null ? v.value.empty() : !v.value.empty(),
                 "NULL with a value or an empty non-NULL\n" + where());
      FUZZ_CHECK(IsValidUtf8(v.value),
                 "an accepted value is not UTF-8: " + Escaped(v.value) + "\n" + where());
      (c < scd1 ? a[c] : b.emplace_back()) = v;
    }
    FUZZ_CHECK(r.scd1_hash[i] == HashAttributes(a),
               "scd1_hash is not the hash of the SCD1 values\n" + where());
    FUZZ_CHECK(r.scd2_hash[i] == HashAttributes(b),
               "scd2_hash is not the hash of the SCD2 values\n" + where());
  }
  for (size_t i = 0; i < p.rejects.size(); ++i) {
    const RejectedRow& j = p.rejects[i];
    FUZZ_CHECK(!j.reason.empty(), "a reject without a reason\n" + where());
    FUZZ_CHECK(i == 0 || j.line > p.rejects[i - 1].line, "reject lines not increasing\n" + where());
    FUZZ_CHECK(j.raw.size() <= options.max_reject_bytes,
               "a reject's raw text is longer than max_reject_bytes\n" + where());
    FUZZ_CHECK(IsValidUtf8(j.raw), "a reject's raw text is not UTF-8: " + Escaped(j.raw) + "\n" + where());
    FUZZ_CHECK(IsValidUtf8(j.reason),
               "a reject's reason is not UTF-8: " + Escaped(j.reason) + "\n" + where());
    for (size_t k = 0; k < n; ++k) {
      FUZZ_CHECK(r.line[k] != j.line,
                 "line " + std::to_string(j.line) + " both accepted and rejected\n" + where());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const EntitySpec entity;  // the built-in customer entity
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto where = [&] { return "input " + Escaped(in); };

  ParseOptions keep_going;
  ParsedObject all;
  ParseObject(in, entity, keep_going, all);
  CheckObject(all, entity, keep_going, in);

  ParseOptions abort_file;
  abort_file.stop_at_first_reject = true;
  abort_file.max_reject_bytes = 64;  // the smallest loader.max_reject_bytes the configuration allows
  ParsedObject first;
  ParseObject(in, entity, abort_file, first);
  CheckObject(first, entity, abort_file, in);

  // abort_file is continue cut at the first reject.
  FUZZ_CHECK(first.failed == all.failed && first.error == all.error,
             "the two modes disagree on failing\n" + where());
  FUZZ_CHECK(first.has_event_time == all.has_event_time, "the two modes disagree on event time\n" + where());
  FUZZ_CHECK(first.rejects.size() == (all.rejects.empty() ? 0 : 1),
             "abort_file kept going after a reject\n" + where());
  size_t expected_rows = all.rows.size();
  if (!all.rejects.empty()) {
    const RejectedRow& a = all.rejects.front();
    const RejectedRow& f = first.rejects.front();
    FUZZ_CHECK(f.line == a.line && f.reason == a.reason, "abort_file rejected another row first\n" + where());
    FUZZ_CHECK(a.raw.starts_with(f.raw), "the cut reject is not a prefix of the full one\n" + where());
    expected_rows = 0;
    while (expected_rows < all.rows.size() && all.rows.line[expected_rows] < a.line) {
      ++expected_rows;
    }
  }
  FUZZ_CHECK(first.rows.size() == expected_rows, "abort_file accepted " + std::to_string(first.rows.size()) +
                                                     " rows, not " + std::to_string(expected_rows) + "\n" +
                                                     where());
  for (size_t i = 0; i < expected_rows; ++i) {
    FUZZ_CHECK(first.rows.key[i] == all.rows.key[i] && first.rows.line[i] == all.rows.line[i] &&
                   first.rows.op[i] == all.rows.op[i] && first.rows.scd1_hash[i] == all.rows.scd1_hash[i] &&
                   first.rows.scd2_hash[i] == all.rows.scd2_hash[i] &&
                   (!all.has_event_time || first.rows.event_time[i] == all.rows.event_time[i]),
               "abort_file row " + std::to_string(i) + " differs from the continue run\n" + where());
  }
  return 0;
}
