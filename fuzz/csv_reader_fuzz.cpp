// Fuzz target: CsvReader (src/common/csv_reader.h) on arbitrary bytes, with ',' and ';' as delimiter.
//
// Reads every record of the input and checks it against a byte-at-a-time reference reader written here
// from the grammar in csv_reader.h (the real one scans eight bytes at a time and unescapes into a scratch
// buffer, which is where it could go wrong): same records, lines, raw bytes, fields and quoting, same
// errors in the same places. Then, if the input read without errors, it writes the records back as RFC 4180
// with every field quoted and reads that again: the fields must come back unchanged.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/csv_reader.h"
#include "fuzz_check.h"

namespace {

using dimstream::CsvReader;
using dimstream::CsvRecord;
using dimstream::CsvStatus;
using dimstream::fuzz::Escaped;

struct Record {
  bool error = false;
  uint64_t line = 0;
  std::string_view raw;
  std::vector<std::string> fields;
  std::vector<bool> quoted;
};

std::string_view WithoutTerminator(std::string_view in, size_t start, size_t end) {
  if (end > start && in[end - 1] == '\n') {
    --end;
    if (end > start && in[end - 1] == '\r') {
      --end;
    }
  }
  return in.substr(start, end - start);
}

constexpr size_t kMaxFields = size_t{1} << 20;

// The grammar of csv_reader.h, one byte at a time.
std::vector<Record> ReferenceRead(std::string_view in, char delimiter) {
  std::vector<Record> out;
  const size_t n = in.size();
  size_t i = in.starts_with("\xEF\xBB\xBF") ? 3 : 0;
  uint64_t line = 1;
  while (true) {
    // Lines with no bytes (LF or CRLF alone) are skipped.
    while (i < n) {
      if (in[i] == '\n') {
        i += 1;
      } else if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n') {
        i += 2;
      } else {
        break;
      }
      ++line;
    }
    if (i == n) {
      return out;
    }
    Record r;
    r.line = line;
    const size_t start = i;
    uint64_t newlines = 0;
    bool done = false;
    // Malformed up to the end of the physical line holding the fault at `fault`.
    auto fail = [&](size_t fault) {
      size_t lf = in.find('\n', fault);
      size_t next = lf == std::string_view::npos ? n : lf + 1;
      uint64_t lfs = 0;
      for (size_t k = start; k < next; ++k) {
        lfs += in[k] == '\n' ? 1 : 0;
      }
      r = {true, line, WithoutTerminator(in, start, next), {}, {}};
      newlines = lfs;
      i = next;
      done = true;
    };
    while (!done) {
      if (r.fields.size() == kMaxFields) {  // a record has at most 2^20 fields
        fail(i);
      } else if (i < n && in[i] == '"') {
        std::string field;
        size_t j = i + 1;
        bool closed = false;
        while (j < n) {
          if (in[j] == '"') {
            if (j + 1 < n && in[j + 1] == '"') {
              field += '"';
              j += 2;
              continue;
            }
            closed = true;
            break;
          }
          newlines += in[j] == '\n' ? 1 : 0;
          field += in[j];
          ++j;
        }
        if (!closed) {  // the rest of the input is this malformed record
          out.push_back({true, line, WithoutTerminator(in, start, n), {}, {}});
          return out;
        }
        r.fields.push_back(std::move(field));
        r.quoted.push_back(true);
        ++j;  // past the closing quote
        if (j == n) {
          r.raw = in.substr(start);
          i = n;
          done = true;
        } else if (in[j] == delimiter) {
          i = j + 1;
        } else if (in[j] == '\n') {
          r.raw = in.substr(start, j - start);
          i = j + 1;
          newlines += 1;
          done = true;
        } else if (in[j] == '\r' && j + 1 < n && in[j + 1] == '\n') {
          r.raw = in.substr(start, j - start);
          i = j + 2;
          newlines += 1;
          done = true;
        } else {
          fail(j);
        }
      } else {
        size_t j = i;
        while (j < n && in[j] != delimiter && in[j] != '\n') {
          ++j;
        }
        if (j == n) {
          r.fields.emplace_back(in.substr(i));
          r.raw = in.substr(start);
          i = n;
          done = true;
        } else if (in[j] == delimiter) {
          r.fields.emplace_back(in.substr(i, j - i));
          i = j + 1;
        } else {  // LF; a CR right before it, in this field, belongs to the terminator
          size_t field_end = j > i && in[j - 1] == '\r' ? j - 1 : j;
          r.fields.emplace_back(in.substr(i, field_end - i));
          r.raw = in.substr(start, field_end - start);
          i = j + 1;
          newlines += 1;
          done = true;
        }
        r.quoted.push_back(false);
      }
    }
    out.push_back(std::move(r));
    line += newlines;
  }
}

std::string Describe(const Record& r) {
  std::string s = (r.error ? "error at line " : "record at line ") + std::to_string(r.line) + " raw " +
                  Escaped(r.raw) + " fields [";
  for (size_t i = 0; i < r.fields.size(); ++i) {
    s += (i ? ", " : "") + std::string(r.quoted[i] ? "q" : "") + Escaped(r.fields[i], 40);
  }
  return s + "]";
}

// Every record the real reader returns, fields copied out (its views live only until the next call).
std::vector<Record> RealRead(std::string_view in, char delimiter) {
  CsvReader reader(in, delimiter);
  CsvRecord rec;
  std::string error;
  std::vector<Record> out;
  uint64_t last_line = 0;
  while (true) {
    error.clear();
    CsvStatus st = reader.Next(rec, &error);
    if (st == CsvStatus::kEnd) {
      break;
    }
    FUZZ_CHECK(out.size() < in.size(), "more records than bytes: the reader does not advance");
    FUZZ_CHECK(rec.line > last_line,
               "line " + std::to_string(rec.line) + " after " + std::to_string(last_line));
    last_line = rec.line;
    FUZZ_CHECK(rec.raw.data() >= in.data() && rec.raw.data() + rec.raw.size() <= in.data() + in.size(),
               "raw is not a view into the input");
    Record r;
    r.error = st == CsvStatus::kError;
    r.line = rec.line;
    r.raw = rec.raw;
    if (r.error) {
      FUZZ_CHECK(rec.fields.empty() && rec.quoted.empty(), "an error record has fields");
      FUZZ_CHECK(!error.empty(), "an error without a message");
    } else {
      FUZZ_CHECK(!rec.fields.empty(), "a record without fields");
      FUZZ_CHECK(rec.fields.size() == rec.quoted.size(), "fields and quoted differ in size");
      for (size_t i = 0; i < rec.fields.size(); ++i) {
        r.fields.emplace_back(rec.fields[i]);
        r.quoted.push_back(rec.quoted[i]);
      }
    }
    out.push_back(std::move(r));
  }
  // The end stays the end.
  FUZZ_CHECK(reader.Next(rec, &error) == CsvStatus::kEnd, "Next after kEnd did not return kEnd");
  return out;
}

bool SameRecord(const Record& a, const Record& b) {
  return a.error == b.error && a.line == b.line && a.raw == b.raw && a.fields == b.fields &&
         a.quoted == b.quoted;
}

void CheckDelimiter(std::string_view in, char delimiter) {
  std::vector<Record> real = RealRead(in, delimiter);
  std::vector<Record> ref = ReferenceRead(in, delimiter);
  auto where = [&] { return std::string("delimiter '") + delimiter + "', input " + Escaped(in); };
  for (size_t i = 0; i < real.size() || i < ref.size(); ++i) {
    FUZZ_CHECK(i < real.size(),
               "the reader stopped early; reference has " + Describe(ref[i]) + "\n" + where());
    FUZZ_CHECK(i < ref.size(), "the reader has an extra " + Describe(real[i]) + "\n" + where());
    FUZZ_CHECK(SameRecord(real[i], ref[i]), "record " + std::to_string(i) + ": reader " + Describe(real[i]) +
                                                "\nreference " + Describe(ref[i]) + "\n" + where());
  }

  // Written back with every field quoted, the records read back the same.
  std::string written;
  for (const Record& r : real) {
    if (r.error) {
      return;
    }
    for (size_t i = 0; i < r.fields.size(); ++i) {
      written += i ? std::string(1, delimiter) : std::string();
      written += '"';
      for (char c : r.fields[i]) {
        written += c == '"' ? std::string("\"\"") : std::string(1, c);
      }
      written += '"';
    }
    written += "\r\n";
  }
  std::vector<Record> again = RealRead(written, delimiter);
  FUZZ_CHECK(again.size() == real.size(), "written back: " + std::to_string(again.size()) + " records, not " +
                                              std::to_string(real.size()) + "\n" + where());
  for (size_t i = 0; i < real.size(); ++i) {
    FUZZ_CHECK(!again[i].error && again[i].fields == real[i].fields,
               "written back, record " + std::to_string(i) + " reads as " + Describe(again[i]) + "\nnot " +
                   Describe(real[i]) + "\n" + where());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  CheckDelimiter(in, ',');
  CheckDelimiter(in, ';');
  return 0;
}
