#include "loader/json_source.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "common/text.h"

namespace dimstream {
namespace {

namespace od = simdjson::ondemand;

// simdjson's own default: deeper documents are refused by its DOM parser too. The walk below recurses once
// per level, so this also bounds the stack it uses.
constexpr int kMaxDepth = static_cast<int>(simdjson::DEFAULT_MAX_DEPTH);
// Distinct keys of no column remembered for extra_columns() and for telling a repeated key: bounded so
// that a file whose every line has keys of its own cannot grow the source without limit (the same bound as
// a CSV header's columns).
constexpr size_t kMaxExtraKeys = size_t{1} << 20;
constexpr size_t kArenaChunk = size_t{64} << 10;

bool IsBlank(std::string_view line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

std::string_view TrimJsonSpace(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

// RFC 8259's number grammar. The on-demand parser hands numbers over as raw tokens without checking them
// (we never ask it for their value, which would refuse 1e400 and 30-digit integers that the column's type
// may well accept), so their form is checked here.
bool IsJsonNumber(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  if (i < n && s[i] == '-') {
    ++i;
  }
  if (i < n && s[i] == '0') {
    ++i;
  } else if (i < n && IsDigit(s[i])) {
    while (i < n && IsDigit(s[i])) {
      ++i;
    }
  } else {
    return false;
  }
  auto digits = [&] {
    size_t from = i;
    while (i < n && IsDigit(s[i])) {
      ++i;
    }
    return i > from;
  };
  if (i < n && s[i] == '.') {
    ++i;
    if (!digits()) {
      return false;
    }
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
      ++i;
    }
    if (!digits()) {
      return false;
    }
  }
  return i == n;
}

// A key for a message: quoted, cut at 64 bytes on a character boundary, control characters as \xNN (an
// unescaped key is valid UTF-8, simdjson checks, but may hold \u0000 and the like).
std::string ShownKey(std::string_view key) {
  std::string out = "\"";
  size_t end = std::min<size_t>(key.size(), 64);
  while (end < key.size() && end > 0 && (static_cast<unsigned char>(key[end]) & 0xC0) == 0x80) {
    --end;
  }
  for (size_t i = 0; i < end; ++i) {
    auto c = static_cast<unsigned char>(key[i]);
    if (c < 0x20 || c == 0x7F) {
      out += fmt::format("\\x{:02X}", c);
    } else {
      out += key[i];
    }
  }
  return out + (end < key.size() ? "...\"" : "\"");
}

const char* TypeName(od::json_type t) {
  switch (t) {
    case od::json_type::array:
      return "an array";
    case od::json_type::object:
      return "an object";
    case od::json_type::number:
      return "a number";
    case od::json_type::string:
      return "a string";
    case od::json_type::boolean:
      return "a boolean";
    case od::json_type::null:
      return "null";
  }
  return "not JSON";
}

}  // namespace

struct JsonLinesSource::Impl {
  // One block of the stream. Lines are parsed where they lie, so a buffer lives as long as views into it
  // may; SIMDJSON_PADDING bytes past its capacity let simdjson read ahead of any line in it.
  struct Buffer {
    std::unique_ptr<char[]> bytes;  // zeroed, so that what simdjson reads past the last line is defined
    size_t capacity = 0;
    size_t size = 0;
    bool referenced = false;  // a line returned since the last Release lies here
  };
  struct Chunk {
    std::unique_ptr<char[]> bytes;
    size_t capacity = 0;
    size_t used = 0;
  };
  enum class LineStatus { kLine, kEnd, kFailed };

  std::unique_ptr<ByteStream> input;
  uint64_t max_line_bytes;
  size_t block_bytes;
  std::vector<std::string> columns;  // the header's candidates: `columns`, then `optional_columns`
  size_t required = 0;               // how many of `columns` are the entity's columns proper
  std::unordered_map<std::string, size_t> slot_of;  // lower-cased name -> index into `columns`
  std::vector<int> field_of;  // [slot]: its field in the header, -1 for an optional one the file lacks
  size_t header_size = 0;

  // Reading. buffers.back() is the current block; the others hold lines returned since the last Release.
  std::vector<Buffer> buffers;
  std::vector<Chunk> arena;  // unescaped strings, kept until Release
  size_t pos = 0;            // first unread byte of the current block
  size_t scan = 0;           // where the search for the next LF resumes (bytes before it have none)
  bool eof = false;
  uint64_t line_no = 0;
  bool failed = false;
  Error error = Error::Invalid("");

  // The first record, read by ReadHeader and returned by the first Next.
  bool pending = false;
  SourceStatus pending_status = SourceStatus::kEnd;
  SourceRecord pending_record;
  std::string pending_why;

  // Parsing one line.
  od::parser parser;
  od::document doc;
  std::string key;                                   // lower-cased
  std::vector<uint64_t> seen_line;                   // [slot]: the last line that had it (repeated keys)
  std::vector<SourceField> slot_values;              // [slot]: its value on the current line
  std::unordered_map<std::string, uint64_t> extras;  // keys of no column -> the last line that had it
  std::unordered_set<std::string> line_extras;       // the line's unremembered ones, once `extras` is full
  std::string_view in_value_of;                      // the key whose value is being read, for messages
  std::string why;

  Impl(std::unique_ptr<ByteStream> in, std::vector<std::string> cols, std::vector<std::string> optional,
       uint64_t max_line)
      : input(std::move(in)),
        max_line_bytes(max_line),
        // Small limits (tests, fuzzing) get small blocks, so that lines cross block ends often.
        block_bytes(static_cast<size_t>(std::clamp<uint64_t>(
            std::min<uint64_t>(max_line, uint64_t{1} << 20) * 2 + 2, 4096, uint64_t{1} << 20))) {
    auto add = [&](const std::string& name) {
      if (slot_of.emplace(AsciiLower(TrimBlanks(name)), columns.size()).second) {
        columns.push_back(name);
      }
    };
    for (const auto& c : cols) {
      add(c);
    }
    required = columns.size();
    for (const auto& c : optional) {
      add(c);
    }
    field_of.assign(columns.size(), -1);
    for (size_t i = 0; i < required; ++i) {
      field_of[i] = static_cast<int>(i);
    }
    header_size = required;
    seen_line.assign(columns.size(), 0);
    slot_values.resize(columns.size());
  }

  void Fail(Error e) {
    failed = true;
    error = std::move(e);
  }

  Error TooLong(uint64_t line) const {
    return Error::Invalid(
        fmt::format("line {} is longer than {} bytes: is this a JSON lines file (one object per line)?", line,
                    max_line_bytes));
  }

  // A new current block holding the unread tail of the old one, big enough for the tail to grow into a
  // line of up to max_line_bytes. The old block goes at once unless a returned line lies in it.
  void NewBuffer() {
    size_t tail = buffers.empty() ? 0 : buffers.back().size - pos;
    Buffer b;
    b.capacity = std::max(block_bytes, 2 * tail);
    b.bytes = std::make_unique<char[]>(b.capacity + simdjson::SIMDJSON_PADDING);
    if (tail > 0) {
      std::memcpy(b.bytes.get(), buffers.back().bytes.get() + pos, tail);
    }
    b.size = tail;
    if (!buffers.empty() && !buffers.back().referenced) {
      buffers.pop_back();
    }
    buffers.push_back(std::move(b));
    pos = 0;
    scan = tail;
  }

  // The next physical line, without its LF or CRLF, in the current block.
  LineStatus NextLine(std::string_view& line) {
    if (buffers.empty()) {
      NewBuffer();
    }
    while (true) {
      Buffer& b = buffers.back();
      char* base = b.bytes.get();
      size_t end = b.size;
      bool found = false;
      if (scan < b.size) {
        if (const void* lf = std::memchr(base + scan, '\n', b.size - scan)) {
          end = static_cast<size_t>(static_cast<const char*>(lf) - base);
          found = true;
        }
      }
      if (found || (eof && pos < b.size)) {
        line = std::string_view(base + pos, end - pos);
        pos = scan = found ? end + 1 : end;
        ++line_no;
        if (!line.empty() && line.back() == '\r') {
          line.remove_suffix(1);
        }
        if (line.size() > max_line_bytes) {
          Fail(TooLong(line_no));
          return LineStatus::kFailed;
        }
        return LineStatus::kLine;
      }
      if (eof) {
        return LineStatus::kEnd;
      }
      scan = b.size;
      size_t tail = b.size - pos;
      if (tail > max_line_bytes && tail - 1 > max_line_bytes) {  // - 1: a CR may come before the LF
        Fail(TooLong(line_no + 1));
        return LineStatus::kFailed;
      }
      if (b.size == b.capacity) {
        NewBuffer();
        continue;
      }
      Result<size_t> n = input->Read(base + b.size, b.capacity - b.size);
      if (!n.ok()) {
        Fail(n.error());
        return LineStatus::kFailed;
      }
      if (*n == 0) {
        eof = true;
      }
      b.size += *n;
    }
  }

  std::string_view Keep(std::string_view s) {
    if (arena.empty() || arena.back().capacity - arena.back().used < s.size()) {
      Chunk c;
      c.capacity = std::max(kArenaChunk, s.size());
      c.bytes = std::make_unique_for_overwrite<char[]>(c.capacity);
      arena.push_back(std::move(c));
    }
    Chunk& c = arena.back();
    char* at = c.bytes.get() + c.used;
    std::memcpy(at, s.data(), s.size());
    c.used += s.size();
    return {at, s.size()};
  }

  bool Bad(std::string message) {
    why = std::move(message);
    return false;
  }

  bool BadJson(simdjson::error_code e) {
    if (e == simdjson::UTF8_ERROR) {
      return Bad(fmt::format("line {} is not valid UTF-8", line_no));
    }
    if (e == simdjson::DEPTH_ERROR) {
      return Bad(fmt::format("line {} is nested deeper than {} levels", line_no, kMaxDepth));
    }
    return Bad(fmt::format("line {} is not a JSON object: {}{}", line_no, simdjson::error_message(e),
                           in_value_of.empty() || e == simdjson::INCOMPLETE_ARRAY_OR_OBJECT
                               ? ""
                               : " (in the value of " + ShownKey(in_value_of) + ")"));
  }

  // Reads (and so checks) a value whose text nobody needs: the on-demand parser checks only what it is
  // asked to read.
  bool Skip(od::value& v, int depth) {
    od::json_type type;
    if (auto e = v.type().get(type)) {
      return BadJson(e);
    }
    switch (type) {
      case od::json_type::object: {
        if (depth > kMaxDepth) {
          return BadJson(simdjson::DEPTH_ERROR);
        }
        od::object obj;
        if (auto e = v.get_object().get(obj)) {
          return BadJson(e);
        }
        for (auto field : obj) {
          std::string_view name;
          if (auto e = field.unescaped_key().get(name)) {
            return BadJson(e);
          }
          od::value inner;
          if (auto e = field.value().get(inner)) {
            return BadJson(e);
          }
          if (!Skip(inner, depth + 1)) {
            return false;
          }
        }
        return true;
      }
      case od::json_type::array: {
        if (depth > kMaxDepth) {
          return BadJson(simdjson::DEPTH_ERROR);
        }
        od::array arr;
        if (auto e = v.get_array().get(arr)) {
          return BadJson(e);
        }
        for (auto element : arr) {
          od::value inner;
          if (auto e = element.get(inner)) {
            return BadJson(e);
          }
          if (!Skip(inner, depth + 1)) {
            return false;
          }
        }
        return true;
      }
      case od::json_type::string: {
        std::string_view s;
        if (auto e = v.get_string().get(s)) {
          return BadJson(e);
        }
        return true;
      }
      case od::json_type::number:
        if (!IsJsonNumber(TrimJsonSpace(v.raw_json_token()))) {
          return BadJson(simdjson::NUMBER_ERROR);
        }
        return true;
      case od::json_type::boolean: {
        bool b;
        if (auto e = v.get_bool().get(b)) {
          return BadJson(e);
        }
        return true;
      }
      case od::json_type::null: {
        bool null;
        if (auto e = v.is_null().get(null)) {
          return BadJson(e);
        }
        return null || BadJson(simdjson::N_ATOM_ERROR);
      }
    }
    return BadJson(simdjson::TAPE_ERROR);
  }

  // A column's value as text. Every view but an unescaped string's lies in the line itself.
  bool ReadValue(od::value& v, SourceField& out) {
    od::json_type type;
    if (auto e = v.type().get(type)) {
      return BadJson(e);
    }
    std::string_view token = TrimJsonSpace(v.raw_json_token());
    out = SourceField{};
    switch (type) {
      case od::json_type::string: {
        std::string_view s;
        if (auto e = v.get_string().get(s)) {
          return BadJson(e);
        }
        // Escapes only ever shorten a string, so the same length means none: the text between the quotes.
        out.text = s.size() + 2 == token.size() ? token.substr(1, s.size()) : Keep(s);
        return true;
      }
      case od::json_type::object:
      case od::json_type::array: {
        if (!Skip(v, 2)) {
          return false;
        }
        // Inside the line's object something (',' or '}') always follows the value.
        const char* next = nullptr;
        if (auto e = doc.current_location().get(next)) {
          return BadJson(e == simdjson::OUT_OF_BOUNDS ? simdjson::INCOMPLETE_ARRAY_OR_OBJECT : e);
        }
        out.text = TrimJsonSpace(std::string_view(token.data(), static_cast<size_t>(next - token.data())));
        return true;
      }
      case od::json_type::null:
        out.null = true;
        return Skip(v, 2);
      case od::json_type::number:
      case od::json_type::boolean:
        out.text = token;
        return Skip(v, 2);
    }
    return BadJson(simdjson::TAPE_ERROR);
  }

  // Parses `line` (line_no) into slot_values/seen_line; false with `why` when it is bad.
  bool ParseLine(std::string_view line) {
    in_value_of = {};  // it views the parser's memory, which the next iterate reuses
    Buffer& b = buffers.back();
    // The byte after the line (its CR or LF, or a zero) becomes a NUL, as in simdjson's own padded strings:
    // past an unfinished object the parser peeks at it.
    b.bytes[static_cast<size_t>(line.data() - b.bytes.get()) + line.size()] = '\0';
    if (line_no == 1 && line.starts_with("\xEF\xBB\xBF")) {
      line.remove_prefix(3);  // a byte order mark
    }
    size_t allocated =
        static_cast<size_t>(b.bytes.get() + b.capacity + simdjson::SIMDJSON_PADDING - line.data());
    if (auto e = parser.iterate(line.data(), line.size(), allocated).get(doc)) {
      return BadJson(e);
    }
    od::json_type type;
    if (auto e = doc.type().get(type)) {
      return BadJson(e);
    }
    if (type != od::json_type::object) {
      return Bad(fmt::format("line {} is not a JSON object: it is {}", line_no, TypeName(type)));
    }
    if (TrimJsonSpace(line).back() != '}') {
      // simdjson would say the object "ended early", which misleads when what is wrong is text after it.
      return Bad(fmt::format("line {} is not a JSON object: it does not end with '}}'", line_no));
    }
    od::object obj;
    if (auto e = doc.get_object().get(obj)) {
      return BadJson(e);
    }
    line_extras.clear();
    for (auto field : obj) {
      std::string_view name;
      if (auto e = field.unescaped_key().get(name)) {
        return BadJson(e);
      }
      od::value v;
      if (auto e = field.value().get(v)) {
        return BadJson(e);
      }
      std::string_view trimmed = TrimBlanks(name);
      key.assign(trimmed);
      for (char& c : key) {
        c = AsciiLower(c);
      }
      auto twice = [&] {
        return Bad(fmt::format("line {} has the key {} twice (keys are compared ignoring case)", line_no,
                               ShownKey(name)));
      };
      auto slot = slot_of.find(key);
      if (slot != slot_of.end()) {
        if (seen_line[slot->second] == line_no) {
          return twice();
        }
        seen_line[slot->second] = line_no;
        in_value_of = name;
        if (!ReadValue(v, slot_values[slot->second])) {
          return false;
        }
        in_value_of = {};
        continue;
      }
      auto extra = extras.find(key);
      if (extra != extras.end()) {
        if (extra->second == line_no) {
          return twice();
        }
        extra->second = line_no;
      } else if (extras.size() < kMaxExtraKeys) {
        extras.emplace(key, line_no);
      } else if (!line_extras.insert(key).second) {
        return twice();
      }
      in_value_of = name;
      if (!Skip(v, 2)) {
        return false;
      }
      in_value_of = {};
    }
    const char* next = nullptr;
    if (auto e = doc.current_location().get(next); e != simdjson::OUT_OF_BOUNDS) {
      return Bad(fmt::format("line {} has more after its object: a JSON lines file holds one object per line",
                             line_no));
    }
    return true;
  }

  // The parsed line as a record in header order; false when it holds an optional column the header lacks.
  bool Fill(SourceRecord& record) {
    record.fields.assign(header_size, SourceField{{}, true});
    for (size_t s = 0; s < columns.size(); ++s) {
      if (seen_line[s] != line_no) {
        continue;
      }
      if (field_of[s] >= 0) {
        record.fields[static_cast<size_t>(field_of[s])] = slot_values[s];
      } else if (!slot_values[s].null) {
        record.fields.clear();
        return Bad(fmt::format(
            "line {} has {}, which the file's first line has not: the file takes its load time as sequence, "
            "so every line must leave {} out",
            line_no, columns[s], columns[s]));
      }
    }
    return true;
  }

  // The next non-blank line as a record or a bad line. `header`: the first one, whose optional columns
  // make the header.
  SourceStatus Read(SourceRecord& record, std::string& reason, bool header) {
    std::string_view line;
    while (true) {
      LineStatus st = NextLine(line);
      if (st == LineStatus::kEnd) {
        return SourceStatus::kEnd;
      }
      if (st == LineStatus::kFailed) {
        record.line = line_no;
        record.raw = {};
        record.fields.clear();
        return SourceStatus::kFailed;
      }
      if (!IsBlank(line)) {
        break;
      }
    }
    buffers.back().referenced = true;
    record.line = line_no;
    record.raw = line;
    record.fields.clear();
    bool ok = ParseLine(line);
    if (ok && header) {
      for (size_t s = required; s < columns.size(); ++s) {
        if (seen_line[s] == line_no) {
          field_of[s] = static_cast<int>(header_size++);
        }
      }
    }
    ok = ok && Fill(record);
    if (!ok) {
      reason = std::move(why);
      return SourceStatus::kBad;
    }
    return SourceStatus::kRecord;
  }

  bool Stable(std::string_view view) const {
    if (view.empty()) {
      return true;  // no bytes to keep
    }
    auto within = [&](const char* begin, size_t size) {
      return view.data() >= begin && view.data() + view.size() <= begin + size;
    };
    // Newest first: the parser asks about the record it has just read.
    for (auto b = buffers.rbegin(); b != buffers.rend(); ++b) {
      if (within(b->bytes.get(), b->size)) {
        return true;
      }
    }
    for (auto c = arena.rbegin(); c != arena.rend(); ++c) {
      if (within(c->bytes.get(), c->used)) {
        return true;
      }
    }
    return false;
  }

  void Release() {
    if (pending) {
      return;  // the first record, read with the header, is not the caller's yet
    }
    if (buffers.size() > 1) {
      buffers.erase(buffers.begin(), buffers.end() - 1);
    }
    if (!buffers.empty()) {
      buffers.back().referenced = false;
    }
    // One ordinary chunk stays for reuse; a big one, made for one long string, goes.
    if (!arena.empty() && arena.back().capacity == kArenaChunk) {
      Chunk keep = std::move(arena.back());
      keep.used = 0;
      arena.clear();
      arena.push_back(std::move(keep));
    } else {
      arena.clear();
    }
  }
};

JsonLinesSource::JsonLinesSource(std::unique_ptr<ByteStream> input, std::vector<std::string> columns,
                                 std::vector<std::string> optional_columns, uint64_t max_line_bytes)
    : impl_(std::make_unique<Impl>(std::move(input), std::move(columns), std::move(optional_columns),
                                   max_line_bytes)) {}

JsonLinesSource::~JsonLinesSource() = default;

Status JsonLinesSource::ReadHeader(std::vector<std::string>& names) {
  Impl& m = *impl_;
  SourceStatus st = m.Read(m.pending_record, m.pending_why, true);
  if (st == SourceStatus::kFailed) {
    return m.error;
  }
  if (st != SourceStatus::kEnd) {
    // Only '{' starts a line of this format; '[' may be a line gone wrong (an array), anything else is a
    // file in another format, which is refused whole rather than as one bad line per record.
    std::string_view start = m.pending_record.raw;
    if (m.pending_record.line == 1 && start.starts_with("\xEF\xBB\xBF")) {
      start.remove_prefix(3);
    }
    start.remove_prefix(std::min(start.size(), start.find_first_not_of(" \t\r")));
    if (!start.empty() && start.front() != '{' && start.front() != '[') {
      auto c = static_cast<unsigned char>(start.front());
      return Error::Invalid(fmt::format(
          "the first line is not JSON (line {} starts with {}, not '{{'): is this file CSV? A JSON lines "
          "file "
          "holds one object per line",
          m.pending_record.line,
          c > 0x20 && c < 0x7F ? fmt::format("'{}'", start.front()) : fmt::format("byte 0x{:02X}", c)));
    }
    m.pending = true;
    m.pending_status = st;
  }
  names.clear();
  for (size_t s = 0; s < m.columns.size(); ++s) {
    if (m.field_of[s] >= 0) {
      names.push_back(m.columns[s]);
    }
  }
  return Ok();
}

SourceStatus JsonLinesSource::Next(SourceRecord& record, std::string& why) {
  Impl& m = *impl_;
  if (m.pending) {
    m.pending = false;
    std::swap(record, m.pending_record);
    why = std::move(m.pending_why);
    return m.pending_status;
  }
  if (m.failed) {
    return SourceStatus::kFailed;
  }
  return m.Read(record, why, false);
}

Error JsonLinesSource::failure() const {
  return impl_->error;
}

bool JsonLinesSource::Stable(std::string_view view) const {
  return impl_->Stable(view);
}

void JsonLinesSource::Release() {
  impl_->Release();
}

uint64_t JsonLinesSource::extra_columns() const {
  return impl_->extras.size();
}

}  // namespace dimstream
