// Fuzz target: JsonLinesSource (src/loader/json_source.h) on arbitrary bytes. The input's first byte
// chooses how the stream is read and used: bits 0-4 the most a Read returns (1..31 bytes, or all at once
// for 31), bits 5-6 how many records go between two Release calls (1..4), bit 7 whether updated_at is a
// column proper or an optional one (the sequence, which the first line decides). Columns customer_id,
// first_name, op; a line may be 4096 bytes.
//
// Properties, against a reference split of the input into lines written here: the source returns exactly
// the non-blank lines up to the first one longer than the limit, with their physical line numbers
// (strictly increasing) and their exact bytes as raw, then kFailed with kInvalidInput if there is such a
// line, else kEnd; kEnd and kFailed stay so. ReadHeader refuses the file only when a line is too long by
// then or the first non-blank line starts with neither '{' nor '['. A record has one field per header
// name, the header is the columns then maybe updated_at, a NULL field has no text, a field's text is valid
// UTF-8. Every view is Stable and is read byte by byte just before the next Release, so that
// AddressSanitizer sees one that did not live that long. And the same input read all at once, with a
// Release after every record, gives the same records, fields and reasons: block boundaries and Release
// change nothing.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_stream.h"
#include "common/utf8.h"
#include "fuzz_check.h"
#include "loader/json_source.h"

namespace {

using namespace dimstream;  // NOLINT(google-build-using-namespace)
using dimstream::fuzz::Escaped;

constexpr uint64_t kMaxLine = 4096;

struct Line {
  uint64_t number;
  std::string_view raw;
};

// The input's lines as the header of json_source.h defines them.
struct Reference {
  std::vector<Line> lines;      // the non-blank ones before the first too long one
  uint64_t too_long = 0;        // that line's number; 0: none
  bool first_line_bad = false;  // the first non-blank line starts with neither '{' nor '['
};

Reference Split(std::string_view in) {
  Reference ref;
  uint64_t number = 0;
  size_t pos = 0;
  while (pos < in.size()) {
    size_t lf = in.find('\n', pos);
    size_t end = lf == std::string_view::npos ? in.size() : lf;
    std::string_view raw = in.substr(pos, end - pos);
    pos = lf == std::string_view::npos ? in.size() : lf + 1;
    ++number;
    if (!raw.empty() && raw.back() == '\r') {
      raw.remove_suffix(1);
    }
    if (raw.size() > kMaxLine) {
      ref.too_long = number;
      return ref;
    }
    if (raw.find_first_not_of(" \t\r") == std::string_view::npos) {
      continue;
    }
    if (ref.lines.empty()) {
      std::string_view start = raw;
      if (number == 1 && start.starts_with("\xEF\xBB\xBF")) {
        start.remove_prefix(3);
      }
      size_t first = start.find_first_not_of(" \t\r");
      ref.first_line_bad = first != std::string_view::npos && start[first] != '{' && start[first] != '[';
    }
    ref.lines.push_back({number, raw});
  }
  return ref;
}

// A record copied out of the source.
struct Copy {
  SourceStatus status;
  uint64_t line;
  std::string raw;
  std::vector<std::string> fields;  // "\x01NULL" for NULL: never valid JSON text of a field
  std::string why;
};

uint64_t Touch(std::string_view s) {
  uint64_t sum = 0;
  for (char c : s) {
    sum += static_cast<unsigned char>(c);
  }
  return sum;
}

struct Run {
  bool header_ok = false;
  std::vector<std::string> header;
  std::vector<Copy> records;  // the last one is kFailed when the file failed
  uint64_t extra = 0;
};

Run Read(std::string_view in, size_t max_read, size_t release_every, bool sequence_required,
         const std::string& where) {
  std::vector<std::string> columns = {"customer_id", "first_name", "op"};
  if (sequence_required) {
    columns.push_back("updated_at");
  }
  JsonLinesSource source(std::make_unique<MemoryStream>(in, max_read), columns, {"updated_at"}, kMaxLine);
  Run run;
  Status header = source.ReadHeader(run.header);
  run.header_ok = header.ok();
  if (!header.ok()) {
    FUZZ_CHECK(header.error().kind == ErrorKind::kInvalidInput && !header.error().message.empty(),
               header.error().message + "\n" + where);
    return run;
  }
  FUZZ_CHECK(run.header.size() == columns.size() || (run.header.size() == columns.size() + 1 &&
                                                     !sequence_required && run.header.back() == "updated_at"),
             "header of " + std::to_string(run.header.size()) + " names\n" + where);
  for (size_t i = 0; i < columns.size(); ++i) {
    FUZZ_CHECK(run.header[i] == columns[i], "header name " + run.header[i] + "\n" + where);
  }

  // Every record since the last Release, views and all: read again just before the next one.
  std::vector<SourceRecord> held;
  auto touch_held = [&] {
    uint64_t sum = 0;
    for (const SourceRecord& r : held) {
      FUZZ_CHECK(source.Stable(r.raw), "raw not stable\n" + where);
      sum += Touch(r.raw);
      for (const SourceField& f : r.fields) {
        FUZZ_CHECK(source.Stable(f.text), "field not stable: " + Escaped(f.text) + "\n" + where);
        sum += Touch(f.text);
      }
    }
    return sum;
  };
  uint64_t sink = 0;
  uint64_t last_line = 0;
  while (true) {
    SourceRecord r;
    std::string why;
    SourceStatus st = source.Next(r, why);
    if (st == SourceStatus::kEnd) {
      FUZZ_CHECK(source.Next(r, why) == SourceStatus::kEnd, "kEnd, then more\n" + where);
      break;
    }
    if (st == SourceStatus::kFailed) {
      FUZZ_CHECK(source.failure().kind == ErrorKind::kInvalidInput, source.failure().message + "\n" + where);
      FUZZ_CHECK(source.Next(r, why) == SourceStatus::kFailed, "kFailed, then more\n" + where);
      run.records.push_back({st, 0, {}, {}, source.failure().message});
      break;
    }
    FUZZ_CHECK(r.line > last_line,
               "line " + std::to_string(r.line) + " after " + std::to_string(last_line) + "\n" + where);
    last_line = r.line;
    Copy c{st, r.line, std::string(r.raw), {}, why};
    if (st == SourceStatus::kRecord) {
      FUZZ_CHECK(r.fields.size() == run.header.size(), "field count\n" + where);
      for (const SourceField& f : r.fields) {
        FUZZ_CHECK(!f.null || f.text.empty(), "a NULL field with text\n" + where);
        FUZZ_CHECK(IsValidUtf8(f.text), "field not UTF-8: " + Escaped(f.text) + "\n" + where);
        c.fields.push_back(f.null ? std::string("\x01NULL") : std::string(f.text));
      }
      FUZZ_CHECK(why.empty(), "a record with a reason\n" + where);
    } else {
      FUZZ_CHECK(!why.empty(), "a bad line without a reason\n" + where);
      FUZZ_CHECK(IsValidUtf8(why), "reason not UTF-8: " + Escaped(why) + "\n" + where);
    }
    run.records.push_back(std::move(c));
    held.push_back(std::move(r));
    if (held.size() == release_every) {
      sink += touch_held();
      held.clear();
      source.Release();
    }
  }
  sink += touch_held();
  run.extra = source.extra_columns();
  // Keep the sums alive so the reads are not optimised away.
  FUZZ_CHECK(sink != UINT64_MAX, "");
  return run;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const uint8_t mode = data[0];
  size_t max_read = (mode & 0x1F) == 0x1F ? SIZE_MAX : (mode & 0x1F) + 1;
  size_t release_every = ((mode >> 5) & 3) + 1;
  bool sequence_required = (mode & 0x80) != 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string where = "max_read " + std::to_string(max_read) + ", release every " +
                      std::to_string(release_every) + ", input " + Escaped(in);

  Reference ref = Split(in);
  Run run = Read(in, max_read, release_every, sequence_required, where);
  bool refused = ref.first_line_bad || (ref.too_long != 0 && ref.lines.empty());
  FUZZ_CHECK(run.header_ok == !refused,
             std::string("ReadHeader ") + (run.header_ok ? "accepted" : "refused") + " the file\n" + where);
  if (!run.header_ok) {
    return 0;
  }
  size_t lines = run.records.size();
  bool failed = !run.records.empty() && run.records.back().status == SourceStatus::kFailed;
  FUZZ_CHECK(failed == (ref.too_long != 0), "kFailed without a line too long, or the reverse\n" + where);
  if (failed) {
    --lines;
    FUZZ_CHECK(run.records.back().why.starts_with("line " + std::to_string(ref.too_long) + " is longer"),
               run.records.back().why + "\n" + where);
  }
  FUZZ_CHECK(lines == ref.lines.size(), std::to_string(lines) + " records and bad lines, " +
                                            std::to_string(ref.lines.size()) + " non-blank lines\n" + where);
  for (size_t i = 0; i < lines; ++i) {
    FUZZ_CHECK(run.records[i].line == ref.lines[i].number && run.records[i].raw == ref.lines[i].raw,
               "record " + std::to_string(i) + " is line " + std::to_string(run.records[i].line) + " " +
                   Escaped(run.records[i].raw) + ", not line " + std::to_string(ref.lines[i].number) + " " +
                   Escaped(ref.lines[i].raw) + "\n" + where);
  }

  // Read whole, released after every record: the same.
  Run whole = Read(in, SIZE_MAX, 1, sequence_required, where);
  FUZZ_CHECK(
      whole.header == run.header && whole.records.size() == run.records.size() && whole.extra == run.extra,
      "read whole, the header, record count or extra columns differ\n" + where);
  for (size_t i = 0; i < run.records.size(); ++i) {
    const Copy& a = run.records[i];
    const Copy& b = whole.records[i];
    FUZZ_CHECK(
        a.status == b.status && a.line == b.line && a.raw == b.raw && a.fields == b.fields && a.why == b.why,
        "read whole, record " + std::to_string(i) + " differs: " + Escaped(a.why) + " vs " + Escaped(b.why) +
            "\n" + where);
  }
  return 0;
}
