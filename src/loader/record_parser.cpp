#include "loader/record_parser.h"

#include <charconv>
#include <unordered_map>

#include <fmt/format.h>

#include "common/attribute_hash.h"
#include "common/clock.h"
#include "common/csv_reader.h"
#include "common/utf8.h"

namespace dimstream {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

// Length of the valid UTF-8 character at the start of `s`, or 0 if it is not one.
size_t Utf8CharLength(std::string_view s) {
  auto c = static_cast<unsigned char>(s[0]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || n > s.size()) {
    return 0;
  }
  return IsValidUtf8(s.substr(0, n)) ? n : 0;
}

// Where each entity column sits in a file's header (-1: absent).
struct HeaderMap {
  int key = -1;
  std::vector<int> attributes;
  int sequence = -1;
  int op = -1;
  size_t fields = 0;
};

std::string MapHeader(const CsvRecord& header, const EntitySpec& entity, HeaderMap& map) {
  std::vector<std::string> attrs = entity.attribute_columns();
  map.attributes.assign(attrs.size(), -1);
  map.fields = header.fields.size();
  // name -> its 1-based column; a hash map, not a scan, since a header may have up to a million columns
  std::unordered_map<std::string, size_t> seen;
  seen.reserve(header.fields.size());
  for (size_t i = 0; i < header.fields.size(); ++i) {
    std::string name = Lower(Trim(header.fields[i]));
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
    int idx = static_cast<int>(i);
    if (name == entity.key_column()) {
      map.key = idx;
    } else if (!entity.sequence_column.empty() && name == entity.sequence_column) {
      map.sequence = idx;
    } else if (!entity.operation_column.empty() && name == entity.operation_column) {
      map.op = idx;
    } else {
      auto it = std::find(attrs.begin(), attrs.end(), name);
      if (it != attrs.end()) {
        map.attributes[static_cast<size_t>(it - attrs.begin())] = idx;
      }
    }
  }
  if (map.key < 0) {
    std::string first = header.fields.empty() ? "" : std::string(header.fields[0]);
    return fmt::format("the header has no '{}' column (the key); it starts with '{}'{}", entity.key_column(),
                       PrintableUtf8(first, 64),
                       header.fields.size() == 1 && first.find(';') != std::string::npos
                           ? " - is the file delimited by ';' instead of ','?"
                           : "");
  }
  return {};
}

}  // namespace

std::optional<int64_t> ParseKey(std::string_view text) {
  text = Trim(text);
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
    if (!text.empty() && text.front() == '-') {
      return std::nullopt;
    }
  }
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

uint64_t HashAttributes(const std::vector<TextRef>& values) {
  AttributeHash hash;
  for (const TextRef& v : values) {
    v.null ? hash.AddNull() : hash.Add(v.value);
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

void ParseObject(std::string_view content, const EntitySpec& entity, const ParseOptions& options,
                 ParsedObject& out) {
  CsvReader reader(content);
  CsvRecord record;
  std::string error;
  CsvStatus st = reader.Next(record, &error);
  if (st == CsvStatus::kEnd) {
    out.failed = true;
    out.error = "the file is empty: a header row is required";
    return;
  }
  if (st == CsvStatus::kError) {
    out.failed = true;
    out.error = "cannot read the header: " + error;
    return;
  }
  if (!IsValidUtf8(record.raw)) {
    out.failed = true;
    out.error = "the header is not valid UTF-8 (is this a CSV file?)";
    return;
  }
  if (record.raw.find('\r') != std::string_view::npos) {
    // A CR that does not end the line (CRLF does, and is not part of `raw`): lines ended by CR alone
    // would otherwise read as one long header and every data row would vanish into it.
    out.failed = true;
    out.error =
        "the header line holds a carriage return (CR) that does not end it: are the lines ended by CR alone "
        "(old Mac style)? Save the file with LF or CRLF line endings";
    return;
  }
  HeaderMap map;
  std::string header_error = MapHeader(record, entity, map);
  if (!header_error.empty()) {
    out.failed = true;
    out.error = header_error;
    return;
  }
  size_t scd1_count = entity.scd1_columns.size();
  size_t attr_count = map.attributes.size();
  out.has_event_time = map.sequence >= 0;
  RawRows& rows = out.rows;
  rows.attributes.assign(attr_count, {});
  std::vector<TextRef> values(attr_count);
  std::vector<TextRef> scd1(scd1_count);
  std::vector<TextRef> scd2(attr_count - scd1_count);
  const char* begin = content.data();
  const char* end = content.data() + content.size();

  auto reject = [&](const CsvRecord& r, std::string reason) {
    out.rejects.push_back({r.line, PrintableUtf8(r.raw, options.max_reject_bytes), std::move(reason)});
  };
  // Views into `content` stay valid; unescaped values live in the reader's scratch, so copy those.
  auto keep = [&](std::string_view v) -> std::string_view {
    if (v.data() >= begin && v.data() + v.size() <= end) {
      return v;
    }
    return out.arena.emplace_back(v);
  };

  while (true) {
    if (options.stop_at_first_reject && !out.rejects.empty()) {
      break;
    }
    st = reader.Next(record, &error);
    if (st == CsvStatus::kEnd) {
      break;
    }
    if (st == CsvStatus::kError) {
      reject(record, error);
      continue;
    }
    if (record.fields.size() != map.fields) {
      reject(record, fmt::format("line {} has {} fields, the header has {}", record.line,
                                 record.fields.size(), map.fields));
      continue;
    }
    if (!IsValidUtf8(record.raw)) {
      reject(record, "the row is not valid UTF-8");
      continue;
    }
    std::string_view key_text = record.fields[static_cast<size_t>(map.key)];
    std::optional<int64_t> key = ParseKey(key_text);
    if (!key) {
      reject(record, Trim(key_text).empty() ? fmt::format("{} is empty", entity.key_column())
                                            : fmt::format("{} '{}' is not a 64-bit integer",
                                                          entity.key_column(), PrintableUtf8(key_text, 64)));
      continue;
    }
    std::optional<Micros> event_time;
    if (map.sequence >= 0) {
      std::string_view t = record.fields[static_cast<size_t>(map.sequence)];
      event_time = ParseTimestamp(t);
      if (!event_time) {
        reject(record, Trim(t).empty() ? fmt::format("{} is empty", entity.sequence_column)
                                       : fmt::format("{} '{}' is not an ISO-8601 timestamp (like "
                                                     "2025-01-08T11:11:11Z)",
                                                     entity.sequence_column, PrintableUtf8(t, 64)));
        continue;
      }
    }
    char op = 'U';
    if (map.op >= 0) {
      std::string_view o = Trim(record.fields[static_cast<size_t>(map.op)]);
      if (o.size() == 1 &&
          (o[0] == 'I' || o[0] == 'i' || o[0] == 'U' || o[0] == 'u' || o[0] == 'D' || o[0] == 'd')) {
        op = static_cast<char>(o[0] & ~0x20);
      } else if (!o.empty()) {
        reject(record,
               fmt::format("{} '{}' is not I, U or D", entity.operation_column, PrintableUtf8(o, 64)));
        continue;
      }
    }
    for (size_t a = 0; a < attr_count; ++a) {
      int idx = map.attributes[a];
      std::string_view v = idx < 0 ? std::string_view() : record.fields[static_cast<size_t>(idx)];
      values[a] = v.empty() ? TextRef{} : TextRef{keep(v), false};
      rows.attributes[a].push_back(values[a]);
      (a < scd1_count ? scd1[a] : scd2[a - scd1_count]) = values[a];
    }
    rows.key.push_back(*key);
    if (map.sequence >= 0) {
      rows.event_time.push_back(event_time);
    }
    rows.op.push_back(op);
    rows.line.push_back(record.line);
    rows.scd1_hash.push_back(HashAttributes(scd1));
    rows.scd2_hash.push_back(HashAttributes(scd2));
  }
}

}  // namespace dimstream
