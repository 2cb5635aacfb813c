// Fuzz target: ParseObject (src/loader/record_parser.h) on arbitrary bytes, for the built-in customer entity
// or (first byte odd) a declared entity with a composite key and a column of every type, a two-column
// sequence and operation words with a truncate value; once with on_error = continue and once with
// stop_at_first_reject (abort_file) and a small max_reject_bytes.
//
// Properties: every typed column of the accepted rows has one entry per row; lines of rows and rejects are
// distinct and increasing; operations are upsert, delete or truncate, and a truncate's key is NULL with key
// id 0; accepted text is valid UTF-8; each row's hashes, sequence encoding and (for one bigint key) key id
// are those of its typed values; rows with the same key have the same key id; a reject's raw text is valid
// UTF-8 and no longer than max_reject_bytes; a failed object has an error and nothing else; and the
// abort_file run is the continue run cut at its first reject. Every view is read, so that AddressSanitizer
// sees one that outlived its bytes.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/typed_value.h"
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

Datum DatumAt(const TypedColumn& c, size_t row) {
  Datum d;
  switch (c.type.kind) {
    case TypeKind::kText:
      d.text = c.texts[row];
      break;
    case TypeKind::kDouble:
      d.d = c.doubles[row];
      break;
    case TypeKind::kDecimal:
      if (c.type.IsWideDecimal()) {
        d.wide = c.wides[row];
      } else {
        d.i = c.ints[row];
      }
      break;
    default:
      d.i = c.ints[row];
  }
  return d;
}

EntitySpec Declared() {
  EntitySpec e;
  e.name = "typed";
  e.key_columns = {"k", "n"};
  e.scd1_columns = {"a"};
  e.scd2_columns = {"b", "c", "d", "w"};
  e.sequence_columns = {"s", "t"};
  e.operation_column = "op";
  e.delete_values = {"DELETE", "d"};
  e.upsert_values = {"INSERT", "UPDATE", ""};
  e.truncate_values = {"TRUNCATE"};
  e.types = {{"n", ColumnType::Bigint()},
             {"a", ColumnType{TypeKind::kDecimal, 6, 2}},
             {"b", ColumnType{TypeKind::kBoolean, 0, 0}},
             {"c", ColumnType{TypeKind::kDate, 0, 0}},
             {"d", ColumnType{TypeKind::kDouble, 0, 0}},
             {"w", ColumnType{TypeKind::kDecimal, 30, 4}},
             {"s", ColumnType::Bigint()},
             {"t", ColumnType::Timestamp()}};
  return e;
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
  const std::vector<std::string> columns = entity.input_columns();
  const size_t keys = entity.key_columns.size();
  const size_t scd1 = entity.scd1_columns.size();
  const size_t attrs = entity.attribute_columns().size();
  FUZZ_CHECK(r.columns.size() == columns.size(), "typed column count\n" + where());
  FUZZ_CHECK(r.op.size() == n && r.key_id.size() == n && r.scd1_hash.size() == n && r.scd2_hash.size() == n,
             "row columns differ in length\n" + where());
  FUZZ_CHECK(r.seq_key_end.size() == (r.has_sequence ? n : 0), "sequence encodings\n" + where());
  for (const TypedColumn& c : r.columns) {
    size_t typed = c.type.kind == TypeKind::kText     ? c.texts.size()
                   : c.type.kind == TypeKind::kDouble ? c.doubles.size()
                   : c.type.IsWideDecimal()           ? c.wides.size()
                                                      : c.ints.size();
    FUZZ_CHECK(c.size() == n && typed == n, "a typed column differs in length\n" + where());
  }
  volatile uint64_t sink = 0;
  std::map<std::string, uint64_t> key_ids;  // key encoding -> key id
  std::string scratch;
  for (size_t i = 0; i < n; ++i) {
    FUZZ_CHECK(i == 0 || r.line[i] > r.line[i - 1], "row lines not increasing\n" + where());
    bool truncate = r.op[i] == Operation::kTruncate;
    FUZZ_CHECK(!truncate || !entity.truncate_values.empty(),
               "a truncate without truncate values\n" + where());
    std::vector<HashInput> a;
    std::vector<HashInput> b;
    std::vector<std::string> bytes(columns.size());
    std::string key;
    std::string seq;
    for (size_t c = 0; c < columns.size(); ++c) {
      const TypedColumn& col = r.columns[c];
      if (col.type.kind == TypeKind::kText && col.valid[i]) {
        sink = sink + Touch(col.texts[i]);
        FUZZ_CHECK(IsValidUtf8(col.texts[i]),
                   "accepted text is not UTF-8: " + Escaped(col.texts[i]) + "\n" + where());
      }
      if (c < keys) {
        FUZZ_CHECK(col.valid[i] != truncate, "a key value is NULL, or a truncate's is not\n" + where());
        if (!truncate) {
          AppendOrderedBytes(col.type, DatumAt(col, i), key);
        }
      } else if (c < keys + attrs) {
        std::string_view v =
            col.valid[i] ? CanonicalBytes(col.type, DatumAt(col, i), scratch) : std::string_view();
        bytes[c] = std::string(v);
        (c < keys + scd1 ? a : b).push_back(HashInput{bytes[c], !col.valid[i]});
      } else if (c < keys + attrs + entity.sequence_columns.size() && r.has_sequence) {
        FUZZ_CHECK(col.valid[i], "an accepted row without its sequence\n" + where());
        AppendOrderedBytes(col.type, DatumAt(col, i), seq);
      }
    }
    FUZZ_CHECK(r.scd1_hash[i] == HashValues(a), "scd1_hash is not the hash of the SCD1 values\n" + where());
    FUZZ_CHECK(r.scd2_hash[i] == HashValues(b), "scd2_hash is not the hash of the SCD2 values\n" + where());
    if (r.has_sequence) {
      FUZZ_CHECK(r.SeqKey(i) == seq, "the sequence encoding is not that of the sequence values\n" + where());
    }
    if (truncate) {
      FUZZ_CHECK(r.key_id[i] == 0, "a truncate with a key id\n" + where());
      continue;
    }
    if (entity.exact_key_id()) {
      FUZZ_CHECK(r.key_id[i] == static_cast<uint64_t>(r.columns[0].ints[i]),
                 "the key id is not the key\n" + where());
    }
    auto [it, inserted] = key_ids.emplace(key, r.key_id[i]);
    FUZZ_CHECK(inserted || it->second == r.key_id[i], "one key with two key ids\n" + where());
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
  static const EntitySpec customer;  // the built-in customer entity
  static const EntitySpec typed = Declared();
  if (size == 0) {
    return 0;
  }
  const EntitySpec& entity = (data[0] & 1) != 0 ? typed : customer;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
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
  FUZZ_CHECK(first.rows.has_sequence == all.rows.has_sequence,
             "the two modes disagree on the sequence\n" + where());
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
    FUZZ_CHECK(first.rows.key_id[i] == all.rows.key_id[i] && first.rows.line[i] == all.rows.line[i] &&
                   first.rows.op[i] == all.rows.op[i] && first.rows.scd1_hash[i] == all.rows.scd1_hash[i] &&
                   first.rows.scd2_hash[i] == all.rows.scd2_hash[i] &&
                   (!all.rows.has_sequence || first.rows.SeqKey(i) == all.rows.SeqKey(i)),
               "abort_file row " + std::to_string(i) + " differs from the continue run\n" + where());
  }
  return 0;
}
