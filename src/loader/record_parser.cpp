#include "loader/record_parser.h"

#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>

#include "common/attribute_hash.h"
#include "common/text.h"
#include "common/typed_value.h"
#include "common/utf8.h"
#include "loader/csv_source.h"

namespace dimstream {
namespace {

std::string Shown(std::string_view value) {
  return "\"" + PrintableUtf8(value, 64) + "\"";
}

enum class Role { kKey, kScd1, kScd2, kSequence, kOperation };

// One of the entity's input columns, and where it sits in the file's header (-1: absent).
struct Column {
  std::string name;
  ColumnType type;
  Role role;
  int field = -1;
};

// The entity's input columns (EntitySpec::input_columns() order) mapped onto a file's header.
struct HeaderMap {
  std::vector<Column> columns;
  std::vector<bool> mapped;  // [field]: the field is one of the entity's columns
  bool has_sequence = false;
  int op = -1;  // index into columns
  uint64_t ignored = 0;
};

std::string MapHeader(const std::vector<std::string>& header, const EntitySpec& entity, HeaderMap& map) {
  for (const auto& c : entity.key_columns) {
    map.columns.push_back({c, entity.TypeOf(c), Role::kKey});
  }
  for (const auto& c : entity.scd1_columns) {
    map.columns.push_back({c, entity.TypeOf(c), Role::kScd1});
  }
  for (const auto& c : entity.scd2_columns) {
    map.columns.push_back({c, entity.TypeOf(c), Role::kScd2});
  }
  for (const auto& c : entity.sequence_columns) {
    map.columns.push_back({c, entity.TypeOf(c), Role::kSequence});
  }
  if (!entity.operation_column.empty()) {
    map.op = static_cast<int>(map.columns.size());
    map.columns.push_back({entity.operation_column, ColumnType::Text(), Role::kOperation});
  }
  std::unordered_map<std::string, size_t> by_name;  // entity column -> index
  for (size_t i = 0; i < map.columns.size(); ++i) {
    by_name.emplace(map.columns[i].name, i);
  }
  map.mapped.assign(header.size(), false);
  // name -> its 1-based column; a hash map, not a scan, since a header may have up to a million columns
  std::unordered_map<std::string, size_t> seen;
  seen.reserve(header.size());
  for (size_t i = 0; i < header.size(); ++i) {
    std::string name = AsciiLower(TrimBlanks(header[i]));
    auto [first, inserted] = seen.emplace(name, i + 1);
    if (!inserted) {
      if (name.empty()) {
        return fmt::format(
            "the header has more than one column without a name (columns {} and {}); remove the empty names "
            "(often extra delimiters at the end of the header line)",
            first->second, i + 1);
      }
      return fmt::format("the header names column '{}' twice (columns {} and {})", PrintableUtf8(name, 256),
                         first->second, i + 1);
    }
    auto it = by_name.find(name);
    if (it != by_name.end()) {
      map.columns[it->second].field = static_cast<int>(i);
      map.mapped[i] = true;
    } else {
      ++map.ignored;
    }
  }
  std::vector<std::string> missing_keys;
  std::vector<std::string> missing_sequence;
  bool any_sequence = false;
  for (const Column& c : map.columns) {
    if (c.role == Role::kKey && c.field < 0) {
      missing_keys.push_back(c.name);
    }
    if (c.role == Role::kSequence && c.field < 0) {
      missing_sequence.push_back(c.name);
    }
    any_sequence |= c.role == Role::kSequence && c.field >= 0;
  }
  auto quoted_list = [](const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) {
      out += (out.empty() ? "'" : ", '") + n + "'";
    }
    return out;
  };
  if (!missing_keys.empty()) {
    std::string first = header.empty() ? "" : header[0];
    return fmt::format("the header has no {} column{} (the key); it starts with '{}'{}",
                       quoted_list(missing_keys), missing_keys.size() > 1 ? "s" : "",
                       PrintableUtf8(first, 64),
                       header.size() == 1 && first.find(';') != std::string::npos
                           ? " - is the file delimited by ';' instead of ','?"
                           : "");
  }
  if (!missing_sequence.empty() && (any_sequence || !entity.sequence_falls_back_to_load_time())) {
    // Only a single timestamp sequence falls back to the load's commit time (SEMANTICS.md section 4).
    return fmt::format("the header has no {} column{} (the sequence{}); {}", quoted_list(missing_sequence),
                       missing_sequence.size() > 1 ? "s" : "",
                       entity.sequence_columns.size() > 1 ? ", in all its columns" : "",
                       any_sequence
                           ? "a file has all the sequence columns or none"
                           : "only a single timestamp sequence can fall back to the load's commit time");
  }
  map.has_sequence = any_sequence;
  return {};
}

// Reads one record's values into `datums` (one per entity column) and says what is wrong with it.
class RowChecker {
 public:
  RowChecker(const EntitySpec& entity, const HeaderMap& map) : entity_(entity), map_(map) {
    datums_.resize(map.columns.size());
    present_.resize(map.columns.size());
    single_bigint_key_ =
        entity.key_columns.size() == 1 && entity.TypeOf(entity.key_columns[0]).kind == TypeKind::kBigint;
    key_mask_ = entity.key_id_bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << entity.key_id_bits) - 1;
  }

  // Fills the row's values, operation, key id, sequence encoding and hashes; returns its reasons (empty:
  // accepted).
  std::vector<std::string> Check(const SourceRecord& r) {
    std::vector<std::string> reasons;
    op_ = Operation::kUpsert;
    if (map_.op >= 0 && map_.columns[static_cast<size_t>(map_.op)].field >= 0) {
      const SourceField& f = r.fields[static_cast<size_t>(map_.columns[static_cast<size_t>(map_.op)].field)];
      auto op = entity_.OperationOf(f.null ? std::string_view() : f.text);
      if (op) {
        op_ = *op;
      } else {
        reasons.push_back(fmt::format("{} {} is not an operation ({})", entity_.operation_column,
                                      Shown(f.text), OperationsText()));
      }
    }
    bool truncate = op_ == Operation::kTruncate;
    for (size_t c = 0; c < map_.columns.size(); ++c) {
      const Column& col = map_.columns[c];
      present_[c] = false;
      if (col.field < 0 || col.role == Role::kOperation || (truncate && col.role == Role::kKey)) {
        continue;  // NULL; a truncate's key is not read
      }
      const SourceField& f = r.fields[static_cast<size_t>(col.field)];
      if (f.null || (col.type.kind != TypeKind::kText && TrimBlanks(f.text).empty())) {
        if (col.role == Role::kKey) {
          reasons.push_back(fmt::format("key \"{}\" is empty", col.name));
        } else if (col.role == Role::kSequence) {
          reasons.push_back(fmt::format("sequence \"{}\" is empty", col.name));
        }
        continue;
      }
      if (!IsValidUtf8(f.text)) {
        reasons.push_back(fmt::format("{} is not valid UTF-8", col.name));
        continue;
      }
      ParseFailure failure = ParseDatum(col.type, f.text, datums_[c]);
      if (failure != ParseFailure::kNone) {
        reasons.push_back(col.role == Role::kKey
                              ? fmt::format("key \"{}\" is {}, not {}", col.name, Shown(f.text),
                                            DescribeExpected(col.type, failure))
                              : fmt::format("{} {} is not {}", col.name, Shown(f.text),
                                            DescribeExpected(col.type, failure)));
        continue;
      }
      present_[c] = true;
    }
    if (!IsValidUtf8(r.raw)) {
      // Bytes outside the entity's columns (or an operation) that are not UTF-8 reject the row as well.
      for (size_t i = 0; i < r.fields.size(); ++i) {
        if (IsValidUtf8(r.fields[i].text) || (map_.mapped[i] && !IsOperationField(i))) {
          continue;
        }
        reasons.push_back(map_.mapped[i] ? fmt::format("{} is not valid UTF-8", entity_.operation_column)
                                         : fmt::format("column {} is not valid UTF-8", i + 1));
      }
    }
    if (reasons.empty()) {
      Encode(truncate);
    }
    return reasons;
  }

  Operation op() const { return op_; }
  uint64_t key_id() const { return key_id_; }
  const std::string& seq() const { return seq_; }
  uint64_t scd1_hash() const { return scd1_hash_; }
  uint64_t scd2_hash() const { return scd2_hash_; }
  const Datum& datum(size_t c) const { return datums_[c]; }
  bool present(size_t c) const { return present_[c]; }

 private:
  bool IsOperationField(size_t field) const {
    return map_.op >= 0 && map_.columns[static_cast<size_t>(map_.op)].field == static_cast<int>(field);
  }

  std::string OperationsText() const {
    auto list = [](const std::vector<std::string>& v) {
      std::string out;
      for (const auto& s : v) {
        out += (out.empty() ? "" : ", ") + (s.empty() ? std::string("empty") : s);
      }
      return out;
    };
    std::string out;
    if (!entity_.upsert_values.empty()) {
      out += "upsert: " + list(entity_.upsert_values);
    }
    if (!entity_.delete_values.empty()) {
      out += (out.empty() ? "" : "; ") + std::string("delete: ") + list(entity_.delete_values);
    }
    if (!entity_.truncate_values.empty()) {
      out += (out.empty() ? "" : "; ") + std::string("truncate: ") + list(entity_.truncate_values);
    }
    return out;
  }

  void Encode(bool truncate) {
    key_id_ = 0;
    seq_.clear();
    key_bytes_.clear();
    AttributeHash h1;
    AttributeHash h2;
    for (size_t c = 0; c < map_.columns.size(); ++c) {
      const Column& col = map_.columns[c];
      switch (col.role) {
        case Role::kKey:
          if (!truncate) {
            AppendOrderedBytes(col.type, datums_[c], key_bytes_);
          }
          break;
        case Role::kSequence:
          if (map_.has_sequence) {
            AppendOrderedBytes(col.type, datums_[c], seq_);
          }
          break;
        case Role::kScd1:
        case Role::kScd2: {
          AttributeHash& h = col.role == Role::kScd1 ? h1 : h2;
          present_[c] ? h.Add(CanonicalBytes(col.type, datums_[c], scratch_)) : h.AddNull();
          break;
        }
        case Role::kOperation:
          break;
      }
    }
    if (!truncate) {
      key_id_ = single_bigint_key_ ? static_cast<uint64_t>(datums_[0].i)
                                   : XXH3_64bits(key_bytes_.data(), key_bytes_.size());
      key_id_ &= key_mask_;
    }
    scd1_hash_ = h1.Digest();
    scd2_hash_ = h2.Digest();
  }

  const EntitySpec& entity_;
  const HeaderMap& map_;
  std::vector<Datum> datums_;
  std::vector<bool> present_;
  bool single_bigint_key_ = false;
  uint64_t key_mask_ = ~uint64_t{0};
  Operation op_ = Operation::kUpsert;
  uint64_t key_id_ = 0;
  std::string seq_;
  std::string key_bytes_;
  std::string scratch_;
  uint64_t scd1_hash_ = 0;
  uint64_t scd2_hash_ = 0;
};

}  // namespace

uint64_t HashValues(const std::vector<HashInput>& values) {
  AttributeHash hash;
  for (const HashInput& v : values) {
    v.null ? hash.AddNull() : hash.Add(v.bytes);
  }
  return hash.Digest();
}

std::string PrintableUtf8(std::string_view text, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes));
  size_t i = 0;
  while (i < text.size()) {
    size_t n = Utf8CharLength(text.substr(i));
    size_t add = n == 0 || text[i] == '\0' ? 4 : n;
    if (out.size() + add > max_bytes) {
      break;
    }
    if (n == 0 || text[i] == '\0') {  // NUL too: many tools would end the text there
      out += fmt::format("\\x{:02X}", static_cast<unsigned char>(text[i]));
      i += 1;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

void ParsedObject::MoveBatchTo(ParsedObject& to) {
  to.rows = std::move(rows);
  to.rejects = std::move(rejects);
  std::swap(to.arena, arena);
  arena.Clear();
  rows = RawRows{};
  rows.has_sequence = to.rows.has_sequence;
  for (const TypedColumn& c : to.rows.columns) {
    rows.columns.emplace_back(c.type);
  }
  rejects.clear();
}

Status ParseRecords(RecordSource& source, const EntitySpec& entity, const ParseOptions& options,
                    ParsedObject& out, const BatchSink& sink) {
  auto fail = [&](const Error& error) {
    out.failed = true;
    out.failure_kind = error.kind;
    out.error = error.message;
  };
  std::vector<std::string> header;
  Status read = source.ReadHeader(header);
  if (!read.ok()) {
    fail(read.error());
    return Ok();
  }
  HeaderMap map;
  std::string header_error = MapHeader(header, entity, map);
  if (!header_error.empty()) {
    fail(Error::Invalid(header_error));
    return Ok();
  }
  out.ignored_columns = map.ignored;
  RawRows& rows = out.rows;
  rows.has_sequence = map.has_sequence;
  rows.columns.clear();
  for (const Column& c : map.columns) {
    rows.columns.emplace_back(c.type);
  }
  RowChecker checker(entity, map);
  auto reject = [&](const SourceRecord& r, std::string reason) {
    out.rejects.push_back({r.line, PrintableUtf8(r.raw, options.max_reject_bytes), std::move(reason)});
    if (!out.first_reject) {
      out.first_reject = out.rejects.back();
    }
    ++out.total_rejects;
  };
  // Views the source keeps stay as they are; the others are copied.
  auto keep = [&](std::string_view v) -> std::string_view {
    return !options.own_text && source.Stable(v) ? v : out.arena.Keep(v);
  };
  size_t batch_bytes = 0;
  auto hand_over = [&]() -> Status {
    if (!sink || (rows.size() == 0 && out.rejects.empty())) {
      return Ok();
    }
    DIMSTREAM_TRY(sink(out));
    rows.Clear();
    out.rejects.clear();
    out.arena.Clear();
    source.Release();
    batch_bytes = 0;
    return Ok();
  };
  SourceRecord record;
  std::string why;
  while (true) {
    if (options.stop_at_first_reject && out.total_rejects > 0) {
      break;
    }
    if (sink &&
        (rows.size() + out.rejects.size() >= options.batch_rows || batch_bytes >= options.batch_bytes)) {
      DIMSTREAM_TRY(hand_over());
    }
    SourceStatus st = source.Next(record, why);
    if (st == SourceStatus::kEnd) {
      break;
    }
    if (st == SourceStatus::kFailed) {
      fail(source.failure());
      return Ok();
    }
    batch_bytes += record.raw.size();
    if (st == SourceStatus::kBad) {
      reject(record, why);
      continue;
    }
    std::vector<std::string> reasons = checker.Check(record);
    if (!reasons.empty()) {
      std::string text = fmt::format("line {}: ", record.line);
      for (size_t i = 0; i < reasons.size(); ++i) {
        text += (i ? "; " : "") + reasons[i];
      }
      reject(record, std::move(text));
      continue;
    }
    for (size_t c = 0; c < map.columns.size(); ++c) {
      TypedColumn& column = rows.columns[c];
      if (c == static_cast<size_t>(map.op) && map.columns[c].field >= 0) {
        // The operation as the file spells it.
        const SourceField& f = record.fields[static_cast<size_t>(map.columns[c].field)];
        Datum d;
        d.text = keep(f.text);
        f.null ? column.AppendNull() : column.Append(d);
      } else if (!checker.present(c)) {
        column.AppendNull();
      } else if (column.type.kind == TypeKind::kText) {
        Datum d = checker.datum(c);
        d.text = keep(d.text);
        column.Append(d);
      } else {
        column.Append(checker.datum(c));
      }
    }
    rows.op.push_back(checker.op());
    rows.line.push_back(record.line);
    rows.key_id.push_back(checker.key_id());
    if (rows.has_sequence) {
      rows.seq_keys += checker.seq();
      rows.seq_key_end.push_back(rows.seq_keys.size());
    }
    rows.scd1_hash.push_back(checker.scd1_hash());
    rows.scd2_hash.push_back(checker.scd2_hash());
    ++out.total_rows;
  }
  out.ignored_columns += source.extra_columns();
  return hand_over();
}

void ParseObject(std::string_view content, const EntitySpec& entity, const ParseOptions& options,
                 ParsedObject& out) {
  CsvSource source(content);
  (void)ParseRecords(source, entity, options, out);
}

}  // namespace dimstream
