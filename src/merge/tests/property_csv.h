// Writing a property case's records as CSV files in many equivalent ways, for both property tests: event
// times in several ISO-8601 spellings, fields quoted or not, headers re-cased, records split into files at
// random, and the rows a file should have rejected (SEMANTICS.md section 2) with the lines they land on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/types.h"
#include "merge/tests/property_support.h"

namespace dimstream::property {

// `v` in two digits at least.
std::string Two(int v);

// `days` since 1970-01-01 as YYYY-MM-DD.
std::string FormatDate(int64_t days);

// `utc` written as local time at a random offset (or as UTC, with or without Z), in one of several ISO-8601
// spellings: T or space, seconds and fractions optional, offsets as +HH:MM, +HHMM or +HH.
std::string FormatEventTime(Rng& rng, Micros utc);

// `s` as a CSV field: quoted when it must be, and now and then when it need not.
std::string CsvField(Rng& rng, const std::string& s);

// `text` in one of four casings: as it is, upper, mixed or lower.
std::string RandomCase(Rng& rng, const std::string& text);

// The fields joined by commas, as one CSV line.
std::string JoinFields(const std::vector<std::string>& fields);

// One file of a plan: its name and the records it holds, [begin, end) in record order.
struct FileSpan {
  std::string name;
  size_t begin = 0;
  size_t end = 0;
};

// `n` records split into 1-8 files in record order (now and then an empty one too), named <prefix><i>.csv.
std::vector<FileSpan> SplitIntoFiles(Rng& rng, size_t n, const std::string& prefix);

// Which earlier file's load commit time a row's sequence is written as (a tie between a sequence value and
// a load time): among the files j < `files` for which `eligible(j)` (no sequence column, and it loads), one
// for which `holds_key(j)` when there is one, else any; nullopt when none is eligible.
std::optional<size_t> PickLoadTimeFile(Rng& rng, size_t files, const std::function<bool(size_t)>& eligible,
                                       const std::function<bool(size_t)>& holds_key);

// Texts that are no timestamp by SEMANTICS.md section 1 (none of them empty).
const std::vector<std::string>& BadTimestamps();

// Texts that are not valid UTF-8.
const std::vector<std::string>& InvalidUtf8();

// A row the loader must reject.
struct ExpectedReject {
  uint64_t line = 0;               // physical line where the row starts
  std::optional<std::string> raw;  // the row as written; nullopt when it is not valid UTF-8 (shown escaped)
  std::string kind;                // which rule of section 2 it breaks
  std::string column;              // the column the reason must name (empty: any reason)
  std::string why;                 // what the test broke, for the failure message
};

// ", line N rejected: <why>" for each of `rejects`, for a plan's description.
std::string DescribeRejects(const std::vector<ExpectedReject>& rejects);

// One line of a file's body: a row, and what the loader must report when it is broken on purpose.
struct CsvLine {
  std::string text;
  std::optional<ExpectedReject> reject;
};

// The line a row broken on purpose is written as, with the reject it must give: its raw text as the loader
// keeps it (printable: NUL written as \x00, see loader/record_parser.h), none when it is not valid UTF-8.
CsvLine BrokenLine(const std::string& text, ExpectedReject reject, bool valid_utf8);

// Appends the header (each name re-cased) and `lines` to `out`, ending lines with `eol` (the last one only
// now and then), and appends the rejects of `lines` to `rejects` with the lines they start on.
void WriteCsv(Rng& rng, const std::vector<std::string>& header, std::vector<CsvLine>& lines,
              const std::string& eol, std::string& out, std::vector<ExpectedReject>& rejects);

}  // namespace dimstream::property
