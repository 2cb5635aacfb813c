// Property-based tests of SEMANTICS.md sections 1, 2, 4 and 5, run through the real loader, the real merge
// and a real DuckDB file.
//
// Each case generates a random record set for the customer entity (1-6 keys, SCD1 and SCD2 changes, NULLs,
// exact duplicates, deletes, re-inserts, late records, ties, awkward values, timestamps written in several
// ways), writes it as CSV files split at random (shuffled and re-cased headers, columns left out, CRLF or
// LF), loads them in order through the real Loader and merges after a random subset of the loads. Then:
//   ReferenceFold      the dimension equals a reference fold written here from SEMANTICS.md sections 4-5
//                      (rows of files without updated_at take their load's sequence_time from
//                      load_history), the invariants hold (CheckInvariants), Rebuild changes nothing, and
//                      the rows and files broken on purpose are rejected as section 2 says, the rest loaded.
//   BatchingIrrelevant the same records split and merged two different ways give identical tables.
//
// Environment:
//   DIMSTREAM_PROPERTY_CASES=N       cases per property (defaults: kReferenceCases, kBatchingCases)
//   DIMSTREAM_PROPERTY_SEED=S        run only the case with seed S (decimal or 0x hex), as printed on failure
//   DIMSTREAM_PROPERTY_BASE_SEED=B   derive the case seeds from B instead of the fixed default
//   DIMSTREAM_PROPERTY_DIR=D         where the cases' bucket and DuckDB file live (default /dev/shm, else
//                                    the temp directory); one subdirectory per process, removed after each
//                                    case
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "common/clock.h"
#include "loader/loader.h"
#include "merge/check.h"
#include "merge/merge.h"
#include "object_store/local_object_store.h"
#include "warehouse/duckdb/duckdb_warehouse.h"
#include "warehouse/sql.h"

namespace dimstream {
namespace {

namespace fs = std::filesystem;

// Sized for about 60-120 s in all on a 2-core machine (see the timing printed at the end of each test).
constexpr uint64_t kReferenceCases = 350;
constexpr uint64_t kBatchingCases = 100;
constexpr uint64_t kDefaultBaseSeed = 0x5eed0fd1ea5ULL;
constexpr size_t kAttrs = 7;  // first_name, last_name, email | street, city, state, country
constexpr size_t kScd1 = 3;
const char* const kAttrNames[kAttrs] = {"first_name", "last_name", "email",  "street",
                                        "city",       "state",     "country"};

// ---------------------------------------------------------------------------------------------------------
// Randomness: splitmix64, nothing from <random>, so a seed means the same case on every platform.

uint64_t SplitMix(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() { return SplitMix(state_); }
  // Uniform enough in [0, n) for n > 0.
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }
  int Int(int lo, int hi) { return lo + static_cast<int>(Below(static_cast<uint64_t>(hi - lo + 1))); }
  bool Chance(double p) { return static_cast<double>(Next() >> 11) * 0x1.0p-53 < p; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Below(v.size())];
  }
  template <typename T>
  void Shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) {
      std::swap(v[i - 1], v[Below(i)]);
    }
  }

 private:
  uint64_t state_;
};

// ---------------------------------------------------------------------------------------------------------
// The records (what a file row means, independent of how it is written).

using Attrs = std::array<Value, kAttrs>;

struct Record {
  int64_t key = 0;
  Attrs attrs;
  bool is_delete = false;
  Micros event = 0;  // updated_at, used when the record's file has that column
};

// One accepted record as the loader should see it: the reference fold's input.
struct Effective {
  int64_t key = 0;
  Attrs attrs;
  bool is_delete = false;
  std::optional<Micros> event;  // nullopt: the file has no updated_at, the sequence is its load's commit
  // updated_at was written as the load commit time (sequence_time) of this earlier file without updated_at,
  // known only once it is loaded: a tie between an event time and a load time.
  std::optional<size_t> event_from_file;
  size_t file = 0;
  size_t row = 0;
};

const std::vector<std::vector<std::string>>& ValuePools() {
  static const std::vector<std::vector<std::string>> pools = {
      {"Ann", "Bob", "Zoë", "José", "O'Brien", "Mary \"May\"", "李雷", "Ann, Jr."},
      {"Smith", "Müller", "Núñez", "van der Berg", "Dvořák", "O\"Hara"},
      {"ann@x.com", "bob@y.org", "ann+tag@x.com", "\"q\"@x.com", "zoë@例え.jp"},
      {"1 Main St", "2 High St, Apt 3", "Line 1\r\nLine 2", "Line 1\nLine 2", "Ærøskøbing 5", "\"The\" Lane",
       " padded ", "3 Low St"},
      {"Oslo", "Zürich", "São Paulo", "Köln, DE", "Kraków"},
      {"CA", "NY", "Île-de-France", "Baden-Württemberg"},
      {"NO", "CH", "BR", "日本", "🇵🇱 PL"},
  };
  return pools;
}

Value RandomValue(Rng& rng, size_t attr, double null_chance) {
  if (rng.Chance(null_chance)) {
    return std::nullopt;
  }
  return rng.Pick(ValuePools()[attr]);
}

struct RecordSet {
  std::vector<Record> records;
  std::string time_mode;
};

RecordSet GenerateRecords(Rng& rng) {
  RecordSet set;
  // Keys: 1-6 of them, so that collisions are frequent; some negative or huge.
  std::vector<int64_t> key_pool = {1, 2, 3, 4, 5, 6, 7, 42, -7, 0, 9007199254740993LL, INT64_MAX, INT64_MIN};
  rng.Shuffle(key_pool);
  size_t nkeys = static_cast<size_t>(rng.Int(1, 6));
  std::vector<int64_t> keys(key_pool.begin(), key_pool.begin() + static_cast<std::ptrdiff_t>(nkeys));
  if (rng.Chance(0.7)) {  // mostly small positive ids, easier to read
    for (size_t i = 0; i < keys.size(); ++i) {
      keys[i] = static_cast<int64_t>(i + 1);
    }
  }

  // Time grid: instants base + k * step. Near-now grids interleave with the commit times of files without
  // updated_at; historic grids put those files after every event time.
  Micros base = 0;
  Micros step = 0;
  switch (rng.Below(6)) {
    case 0:
      base = 1735689600000000LL;  // 2025-01-01T00:00:00Z
      step = 3600LL * 1000000;
      set.time_mode = "historic, 1 h steps";
      break;
    case 1:
      base = 1735689600000000LL - 3 * 3600LL * 1000000;
      step = 86400LL * 1000000 + 1000000 + 123456;
      set.time_mode = "historic, ~1 day steps with fractions";
      break;
    case 2:
      base = 1735689600000000LL + 7;
      step = rng.Chance(0.5) ? 1 : 1000;
      set.time_mode = "historic, microsecond/millisecond steps";
      break;
    case 3:
      base = -3600LL * 1000000;  // 1969-12-31T23:00:00Z: negative times, offsets crossing the epoch
      step = 10 * 60LL * 1000000 + 1;
      set.time_mode = "around the epoch, ~10 min steps";
      break;
    case 4:
      base = 1709150400000000LL;  // 2024-02-28T20:00:00Z: leap day, offsets crossing dates
      step = 2 * 3600LL * 1000000 + 500000;
      set.time_mode = "leap day, ~2 h steps";
      break;
    default:
      base = NowMicros() - 150000;
      step = 15000 + static_cast<Micros>(rng.Below(30000));
      set.time_mode = "near now, ~30 ms steps";
      break;
  }

  const double null_chance = rng.Chance(0.5) ? 0.1 : 0.3;
  const double change1 = 0.2 + 0.4 * static_cast<double>(rng.Below(100)) / 100.0;
  const double change2 = 0.05 + 0.3 * static_cast<double>(rng.Below(100)) / 100.0;
  const double delete_chance =
      rng.Chance(0.3) ? 0.0 : 0.05 + 0.2 * static_cast<double>(rng.Below(100)) / 100.0;

  std::map<int64_t, int> newest;  // per key: newest time index generated so far
  std::map<int64_t, std::vector<int>> used;
  std::map<int64_t, Attrs> last;
  int n = rng.Chance(0.2) ? rng.Int(1, 4) : rng.Chance(0.8) ? rng.Int(4, 20) : rng.Int(20, 60);
  for (int i = 0; i < n; ++i) {
    if (!set.records.empty() && rng.Chance(0.08)) {  // an exact duplicate of an earlier record
      set.records.push_back(set.records[rng.Below(set.records.size())]);
      continue;
    }
    Record r;
    r.key = rng.Pick(keys);
    int t = 0;
    if (newest.count(r.key) == 0) {
      t = rng.Int(0, 3);
      Attrs a;
      for (size_t c = 0; c < kAttrs; ++c) {
        a[c] = RandomValue(rng, c, null_chance);
      }
      last[r.key] = a;
    } else {
      int cur = newest[r.key];
      uint64_t roll = rng.Below(100);
      if (roll < 60) {
        t = cur + rng.Int(1, 3);
      } else if (roll < 75) {
        t = rng.Int(0, cur);  // late (or a tie with the newest)
      } else if (roll < 90) {
        t = rng.Pick(used[r.key]);  // a tie with some earlier record of the key
      } else {
        t = cur;
      }
    }
    r.event = base + step * t;
    newest[r.key] = std::max(newest.count(r.key) ? newest[r.key] : t, t);
    used[r.key].push_back(t);
    r.is_delete = rng.Chance(delete_chance);
    Attrs& a = last[r.key];
    for (size_t c = 0; c < kAttrs; ++c) {
      if (rng.Chance(c < kScd1 ? change1 : change2)) {
        a[c] = RandomValue(rng, c, null_chance);
      }
    }
    if (r.is_delete && rng.Chance(0.4)) {
      r.attrs = Attrs{};  // a delete with empty attributes
    } else {
      r.attrs = a;
    }
    set.records.push_back(r);
  }
  return set;
}

// ---------------------------------------------------------------------------------------------------------
// Writing records as CSV, in many equivalent ways.

std::string Two(int v) {
  std::string s = std::to_string(v);
  return s.size() < 2 ? "0" + s : s;
}

// `utc` written as local time at a random offset (or as UTC, with or without Z), in one of several ISO-8601
// spellings: T or space, seconds and fractions optional, offsets as +HH:MM, +HHMM or +HH.
std::string FormatEventTime(Rng& rng, Micros utc) {
  static const std::vector<int> offsets = {0, 0, 0, 120, -330, 345, -600, 60, 840, -720, 330};
  int offset = rng.Pick(offsets);
  bool no_marker = offset == 0 && rng.Chance(0.4);
  Micros local = utc + static_cast<Micros>(offset) * 60 * 1000000;
  constexpr Micros kDay = 86400LL * 1000000;
  Micros days = local >= 0 ? local / kDay : -((-local + kDay - 1) / kDay);
  Micros in_day = local - days * kDay;
  std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days}}};
  int64_t secs = in_day / 1000000;
  int64_t micros = in_day % 1000000;
  std::string s = std::to_string(static_cast<int>(ymd.year())) + "-" +
                  Two(static_cast<int>(static_cast<unsigned>(ymd.month()))) + "-" +
                  Two(static_cast<int>(static_cast<unsigned>(ymd.day())));
  s += rng.Chance(0.85) ? "T" : " ";
  s += Two(static_cast<int>(secs / 3600)) + ":" + Two(static_cast<int>(secs / 60 % 60));
  bool can_drop_seconds = secs % 60 == 0 && micros == 0;
  if (!can_drop_seconds || rng.Chance(0.7)) {
    s += ":" + Two(static_cast<int>(secs % 60));
    if (micros != 0) {
      std::string frac = std::to_string(micros + 1000000).substr(1);
      if (rng.Chance(0.5)) {
        while (frac.back() == '0') {
          frac.pop_back();
        }
      }
      s += "." + frac;
    } else if (rng.Chance(0.2)) {
      s += ".000";
    }
  }
  if (no_marker) {
    return s;
  }
  if (offset == 0 && rng.Chance(0.7)) {
    return s + "Z";
  }
  int a = std::abs(offset);
  std::string sign = offset < 0 ? "-" : "+";
  uint64_t style = rng.Below(10);
  if (style < 7) {
    return s + sign + Two(a / 60) + ":" + Two(a % 60);
  }
  if (style < 9 || a % 60 != 0) {
    return s + sign + Two(a / 60) + Two(a % 60);
  }
  return s + sign + Two(a / 60);
}

std::string CsvField(Rng& rng, const Value& v) {
  if (!v) {
    return "";
  }
  const std::string& s = *v;
  bool must = s.find_first_of(",\"\r\n") != std::string::npos;
  if (!must && !rng.Chance(0.15)) {
    return s;
  }
  std::string out = "\"";
  for (char c : s) {
    out += c;
    if (c == '"') {
      out += '"';
    }
  }
  return out + "\"";
}

std::string RandomCase(Rng& rng, const std::string& name) {
  uint64_t style = rng.Below(4);
  std::string out = name;
  for (char& c : out) {
    if (style == 1 || (style == 2 && rng.Chance(0.5))) {
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

struct ExpectedReject {
  uint64_t line = 0;               // physical line where the row starts
  std::optional<std::string> raw;  // the row as written; nullopt when it is not valid UTF-8 (shown escaped)
  std::string kind;                // which rule of section 2 it breaks
  std::string why;                 // what the test broke, for the failure message
};

struct FilePlan {
  std::string name;
  std::string content;
  bool has_seq = true;
  bool merge_after = false;
  bool failed = false;  // the file is rejected whole (no key column in the header, or no bytes at all)
  bool values_left_out = false;  // a column holding values (or deletes) left out: they load as NULL (as U)
  std::vector<std::string> columns;     // as in the header, in order
  std::vector<Effective> rows;          // what the loader should accept, in file order
  std::vector<ExpectedReject> rejects;  // the rows it should reject (SEMANTICS.md section 2)
};

struct Plan {
  std::vector<FilePlan> files;
  std::string Describe(bool with_content) const {
    std::ostringstream o;
    for (const FilePlan& f : files) {
      o << "  load " << f.name << " (" << f.rows.size() << " rows" << (f.has_seq ? "" : ", no updated_at");
      if (f.failed) {
        o << ", rejected whole";
      }
      for (const ExpectedReject& r : f.rejects) {
        o << ", line " << r.line << " rejected: " << r.why;
      }
      o << ")" << (f.merge_after ? ", then merge" : "") << "\n";
      if (with_content) {
        std::string shown;
        for (char c : f.content) {
          if (c == '\r') {
            shown += "\\r";
          } else {
            shown += c;
          }
        }
        o << "    ---- " << f.name << " (\\r shown as text) ----\n"
          << shown << (f.content.empty() || f.content.back() != '\n' ? "\n    (no final line end)\n" : "")
          << "    ----\n";
      }
    }
    return o.str();
  }
};

struct PlanOptions {
  double no_seq_file_chance = 0.0;     // a file without updated_at
  bool drop_non_null_columns = false;  // may drop a column that holds values (they become NULL)
  double merge_chance = 0.5;
  double load_time_tie_chance = 0.0;  // a row's updated_at is the sequence_time of an earlier file without it
  double bad_row_chance = 0.0;        // before each row, a row that must be rejected
  double failed_file_chance = 0.0;    // a file that must be rejected whole
  double extra_column_chance = 0.0;   // a column the entity does not know (ignored)
};

// A row the loader must reject, made from `fields` (a valid row of the file) by breaking one thing.
// Returns false when this file offers no way to break the chosen thing.
bool BreakRow(Rng& rng, const std::vector<std::string>& columns, std::vector<std::string>& fields,
              std::string& kind, std::string& why, bool& valid_utf8) {
  static const std::vector<std::string> bad_keys = {
      "", " ", "abc", "12x", "1.0", "99999999999999999999", "0x1F", "--1", "1 2"};
  static const std::vector<std::string> bad_times = {"",
                                                     "yesterday",
                                                     "2025-13-01T00:00:00Z",
                                                     "2025-02-30T10:00:00Z",
                                                     "2025-01-01T25:00:00Z",
                                                     "2025-01-01T10:61:00Z",
                                                     "01/02/2025",
                                                     "2025-01-01T10:00:00 PST",
                                                     "2025-01-01T10:00:00+0"};
  static const std::vector<std::string> bad_ops = {"X", "DEL", "0", "II", "delete", "+", "UD"};
  static const std::vector<std::string> bad_utf8 = {"Bad \xff byte", "\xc3(", "\xed\xa0\x80", "\xc0\xaf",
                                                    "cut \xe2\x82"};
  auto column = [&](const std::string& name) -> std::optional<size_t> {
    auto it = std::find(columns.begin(), columns.end(), name);
    return it == columns.end() ? std::nullopt
                               : std::optional<size_t>(static_cast<size_t>(it - columns.begin()));
  };
  valid_utf8 = true;
  switch (rng.Below(5)) {
    case 0:
      if (rng.Chance(0.5) || fields.size() < 2) {
        fields.push_back(rng.Chance(0.5) ? "" : "extra");
        why = "one field too many";
        kind = "field count";
      } else {
        fields.pop_back();
        why = "one field too few";
        kind = "field count";
      }
      return true;
    case 1: {
      std::string k = rng.Pick(bad_keys);
      fields[*column("customer_id")] = k;
      why = "customer_id '" + k + "'";
      kind = "bad key";
      return true;
    }
    case 2: {
      auto c = column("updated_at");
      if (!c) {
        return false;
      }
      std::string t = rng.Pick(bad_times);
      fields[*c] = t;
      why = "updated_at '" + t + "'";
      kind = "bad updated_at";
      return true;
    }
    case 3: {
      auto c = column("op");
      if (!c) {
        return false;
      }
      std::string o = rng.Pick(bad_ops);
      fields[*c] = o;
      why = "op '" + o + "'";
      kind = "bad op";
      return true;
    }
    default: {
      std::vector<size_t> text;
      for (size_t i = 0; i < columns.size(); ++i) {
        if (columns[i] != "customer_id" && columns[i] != "updated_at" && columns[i] != "op") {
          text.push_back(i);
        }
      }
      if (text.empty()) {
        return false;
      }
      fields[rng.Pick(text)] = rng.Pick(bad_utf8);
      why = "invalid UTF-8";
      kind = "invalid UTF-8";
      valid_utf8 = false;
      return true;
    }
  }
}

// Placeholders for updated_at values known only at load time: "\x01<file>:<format seed>\x02".
constexpr char kOpen = '\x01';
constexpr char kClose = '\x02';

// Splits `records` into files in record order and writes them. With drop_non_null_columns false, a file
// only leaves out a column that is NULL (or, for op, an upsert) in every one of its rows, so the loaded
// records are exactly `records`.
Plan MakePlan(Rng& rng, const std::vector<Record>& records, const PlanOptions& options,
              const std::string& prefix) {
  Plan plan;
  size_t n = records.size();
  size_t max_files = std::min<size_t>(n, 8);
  size_t nfiles = static_cast<size_t>(rng.Int(1, static_cast<int>(std::max<size_t>(max_files, 1))));
  std::vector<size_t> cuts;  // starts of files 1..nfiles-1
  std::vector<size_t> candidates;
  for (size_t i = 1; i < n; ++i) {
    candidates.push_back(i);
  }
  rng.Shuffle(candidates);
  cuts.assign(candidates.begin(),
              candidates.begin() + static_cast<std::ptrdiff_t>(std::min(nfiles - 1, candidates.size())));
  if (rng.Chance(0.1)) {
    cuts.push_back(rng.Below(n + 1));  // an empty (header only) file somewhere
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.insert(cuts.begin(), 0);
  cuts.push_back(n);

  for (size_t f = 0; f + 1 < cuts.size(); ++f) {
    FilePlan file;
    file.name = prefix + std::to_string(f) + ".csv";
    size_t begin = cuts[f];
    size_t end = cuts[f + 1];
    file.has_seq = !rng.Chance(options.no_seq_file_chance);
    file.failed = rng.Chance(options.failed_file_chance);
    bool any_delete = false;
    std::array<bool, kAttrs> all_null;
    all_null.fill(true);
    for (size_t i = begin; i < end; ++i) {
      any_delete |= records[i].is_delete;
      for (size_t c = 0; c < kAttrs; ++c) {
        all_null[c] = all_null[c] && !records[i].attrs[c];
      }
    }
    // Columns: the key always; each attribute unless left out; updated_at when has_seq; op unless left out.
    std::vector<std::string> columns = {"customer_id"};
    std::array<bool, kAttrs> present;
    for (size_t c = 0; c < kAttrs; ++c) {
      bool may_drop = options.drop_non_null_columns || all_null[c];
      double drop_chance = options.drop_non_null_columns ? 0.07 : 0.3;
      present[c] = !(may_drop && rng.Chance(drop_chance));
      file.values_left_out |= !present[c] && !all_null[c];
      if (present[c]) {
        columns.push_back(kAttrNames[c]);
      }
    }
    if (file.has_seq) {
      columns.push_back("updated_at");
    }
    bool may_drop_op = options.drop_non_null_columns || !any_delete;
    bool has_op = !(may_drop_op && rng.Chance(options.drop_non_null_columns ? 0.1 : 0.3));
    if (has_op) {
      columns.push_back("op");
    }
    file.values_left_out |= !has_op && any_delete;
    if (rng.Chance(options.extra_column_chance)) {
      columns.push_back(rng.Chance(0.5) ? "note" : "source_system");
    }
    rng.Shuffle(columns);
    file.columns = columns;

    // The fields of record r in this file's column order; `placeholder` allows a load-time updated_at.
    auto row_fields = [&](const Record& r, const Effective* e) {
      std::vector<std::string> fields;
      for (const std::string& name : columns) {
        std::string field;
        if (name == "customer_id") {
          std::string key = std::to_string(r.key);
          if (rng.Chance(0.05)) {  // the same integer spelled with leading zeros or a plus sign
            bool negative = r.key < 0;
            std::string digits = negative ? key.substr(1) : key;
            key = (negative          ? "-"
                   : rng.Chance(0.5) ? "+"
                                     : "") +
                  std::string(rng.Chance(0.5) ? "00" : "0") + digits;
          }
          field = CsvField(rng, key);
        } else if (name == "updated_at") {
          if (e != nullptr && e->event_from_file) {
            field = kOpen + std::to_string(*e->event_from_file) + ":" + std::to_string(rng.Next()) + kClose;
          } else {
            field = CsvField(rng, FormatEventTime(rng, r.event));
          }
        } else if (name == "op") {
          static const std::vector<std::string> upserts = {"I", "i", "U", "u", ""};
          static const std::vector<std::string> deletes = {"D", "d"};
          std::string op = rng.Pick(r.is_delete ? deletes : upserts);
          field = op.empty() ? "" : CsvField(rng, op);
        } else if (name == "note" || name == "source_system") {
          field = CsvField(rng, RandomValue(rng, rng.Below(kAttrs), 0.3));
        } else {
          size_t c = static_cast<size_t>(std::find(std::begin(kAttrNames), std::end(kAttrNames), name) -
                                         std::begin(kAttrNames));
          field = CsvField(rng, r.attrs[c]);
        }
        fields.push_back(field);
      }
      return fields;
    };
    auto join = [](const std::vector<std::string>& fields) {
      std::string line;
      for (size_t i = 0; i < fields.size(); ++i) {
        line += (i ? "," : "") + fields[i];
      }
      return line;
    };
    struct Line {
      std::string text;
      std::optional<ExpectedReject> reject;
    };
    std::vector<Line> lines;
    auto maybe_bad_row = [&] {
      if (file.failed || !rng.Chance(options.bad_row_chance)) {
        return;
      }
      size_t model = end > begin ? begin + rng.Below(end - begin) : rng.Below(records.size());
      std::vector<std::string> fields = row_fields(records[model], nullptr);
      ExpectedReject reject;
      bool valid_utf8 = true;
      if (!BreakRow(rng, columns, fields, reject.kind, reject.why, valid_utf8)) {
        return;
      }
      std::string text = join(fields);
      if (valid_utf8) {
        reject.raw = text;
      }
      lines.push_back({text, reject});
    };
    for (size_t i = begin; i < end; ++i) {
      const Record& r = records[i];
      Effective e;
      e.key = r.key;
      e.file = f;
      e.row = i - begin;
      e.is_delete = has_op && r.is_delete;
      if (file.has_seq) {
        e.event = r.event;
        if (rng.Chance(options.load_time_tie_chance)) {
          // Prefer an earlier file without updated_at that holds the same key.
          std::vector<size_t> no_seq_files;
          std::vector<size_t> same_key;
          for (size_t j = 0; j < plan.files.size(); ++j) {
            if (!plan.files[j].has_seq && !plan.files[j].failed) {
              no_seq_files.push_back(j);
              for (const Effective& x : plan.files[j].rows) {
                if (x.key == r.key) {
                  same_key.push_back(j);
                  break;
                }
              }
            }
          }
          if (!same_key.empty()) {
            e.event_from_file = rng.Pick(same_key);
          } else if (!no_seq_files.empty()) {
            e.event_from_file = rng.Pick(no_seq_files);
          }
          if (e.event_from_file) {
            e.event.reset();
          }
        }
      }
      maybe_bad_row();
      lines.push_back({join(row_fields(r, &e)), std::nullopt});
      for (size_t c = 0; c < kAttrs; ++c) {
        e.attrs[c] = present[c] ? r.attrs[c] : std::nullopt;
      }
      if (!file.failed) {
        file.rows.push_back(e);
      }
    }
    maybe_bad_row();

    std::string eol = rng.Chance(0.5) ? "\r\n" : "\n";
    std::string& out = file.content;
    std::vector<std::string> header = columns;
    if (file.failed) {
      // Either no key column in the header, or no bytes at all.
      std::replace(header.begin(), header.end(), std::string("customer_id"),
                   std::string(rng.Chance(0.5) ? "customer" : "id"));
    }
    if (!file.failed || rng.Chance(0.7)) {
      for (size_t i = 0; i < header.size(); ++i) {
        out += (i ? "," : "") + RandomCase(rng, header[i]);
      }
      out += eol;
      bool final_eol = rng.Chance(0.8);
      for (size_t i = 0; i < lines.size(); ++i) {
        uint64_t line_no = 1 + static_cast<uint64_t>(std::count(out.begin(), out.end(), '\n'));
        out += lines[i].text;
        if (i + 1 < lines.size() || final_eol) {
          out += eol;
        }
        if (lines[i].reject) {
          lines[i].reject->line = line_no;
          file.rejects.push_back(*lines[i].reject);
        }
      }
    }
    file.merge_after = rng.Chance(options.merge_chance);
    plan.files.push_back(std::move(file));
  }
  plan.files.back().merge_after = true;
  return plan;
}

// ---------------------------------------------------------------------------------------------------------
// The reference: SEMANTICS.md sections 4 and 5, written plainly.

using Row = std::vector<Value>;

struct Tables {
  std::vector<Row> history;  // key, 7 attributes, valid_from, valid_to, is_current (as the query prints them)
  std::vector<Row> current;  // key, 7 attributes, valid_from
};

struct RefVersion {
  Attrs attrs;
  Micros valid_from = 0;
  std::optional<Micros> valid_to;
};

// `features`, when given, collects which situations of SEMANTICS.md sections 4 and 5 the case exercised.
Tables ReferenceFold(const std::vector<FilePlan>& files, const std::map<std::string, Micros>& load_sequence,
                     std::set<std::string>* features = nullptr) {
  auto saw = [&](const char* what) {
    if (features != nullptr) {
      features->insert(what);
    }
  };
  struct Seq {
    Micros seq;
    size_t file;
    size_t row;
    const Effective* rec;
  };
  std::map<int64_t, std::vector<Seq>> by_key;
  for (const FilePlan& f : files) {
    for (const Effective& e : f.rows) {
      Micros seq = e.event_from_file ? load_sequence.at(files[*e.event_from_file].name)
                   : e.event         ? *e.event
                                     : load_sequence.at(f.name);
      by_key[e.key].push_back({seq, e.file, e.row, &e});
    }
  }
  Tables t;
  for (auto& [key, recs] : by_key) {
    std::sort(recs.begin(), recs.end(), [](const Seq& a, const Seq& b) {
      return std::tie(a.seq, a.file, a.row) < std::tie(b.seq, b.file, b.row);
    });
    std::vector<RefVersion> versions;
    std::optional<size_t> cur;
    for (size_t i = 0; i < recs.size(); ++i) {
      if (i + 1 < recs.size() && recs[i + 1].seq == recs[i].seq) {
        saw(recs[i + 1].file == recs[i].file ? "tie in one file" : "tie across files");
        if (recs[i].rec->event_from_file || recs[i + 1].rec->event_from_file) {
          saw("tie between an updated_at and a load time");
        }
        if (recs[i].rec->attrs == recs[i + 1].rec->attrs &&
            recs[i].rec->is_delete == recs[i + 1].rec->is_delete) {
          saw("exact duplicate");
        }
        continue;  // superseded by a later arrival with the same sequence
      }
      const Effective& r = *recs[i].rec;
      Micros seq = recs[i].seq;
      if (features != nullptr) {
        for (size_t j = i + 1; j < recs.size(); ++j) {
          if (std::tie(recs[j].file, recs[j].row) < std::tie(recs[i].file, recs[i].row)) {
            saw(r.is_delete ? "late delete before newer records" : "late upsert before newer records");
            break;
          }
        }
      }
      if (r.is_delete) {
        if (cur) {
          saw("delete closes a version");
          versions[*cur].valid_to = seq;
          cur.reset();
        } else {
          saw("delete of a key with no current version");
        }
        continue;
      }
      if (!cur) {
        if (!versions.empty()) {
          saw("re-insert after delete");
        }
        versions.push_back({r.attrs, seq, std::nullopt});
        cur = versions.size() - 1;
        continue;
      }
      bool scd2_differs = false;
      for (size_t c = kScd1; c < kAttrs; ++c) {
        scd2_differs |= versions[*cur].attrs[c] != r.attrs[c];
      }
      if (scd2_differs) {
        saw("SCD2 change opens a version");
        versions[*cur].valid_to = seq;
        versions.push_back({r.attrs, seq, std::nullopt});
        cur = versions.size() - 1;
      } else {
        saw(versions[*cur].attrs == r.attrs ? "upsert changing nothing" : "SCD1 change in place");
        for (size_t c = 0; c < kScd1; ++c) {
          versions[*cur].attrs[c] = r.attrs[c];
        }
      }
    }
    std::sort(versions.begin(), versions.end(),
              [](const RefVersion& a, const RefVersion& b) { return a.valid_from < b.valid_from; });
    for (const RefVersion& v : versions) {
      Row row = {std::to_string(key)};
      row.insert(row.end(), v.attrs.begin(), v.attrs.end());
      row.push_back(std::to_string(v.valid_from));
      Row cur_row = row;
      row.push_back(v.valid_to ? Value(std::to_string(*v.valid_to)) : std::nullopt);
      row.push_back(v.valid_to ? "false" : "true");
      t.history.push_back(row);
      if (!v.valid_to) {
        t.current.push_back(cur_row);
      }
    }
  }
  return t;
}

// Situations that depend on the files and the merge schedule rather than on the fold.
void PlanFeatures(const std::vector<FilePlan>& files, const std::map<std::string, Micros>& load_sequence,
                  std::set<std::string>& features) {
  bool with = false;
  bool without = false;
  std::optional<size_t> merged_upto;  // the last file merged before the current one was loaded
  for (size_t f = 0; f < files.size(); ++f) {
    (files[f].has_seq ? with : without) = true;
    if (files[f].rows.empty()) {
      features.insert("file with no rows");
    }
    if (files[f].failed) {
      features.insert("file rejected whole");
    }
    if (files[f].values_left_out) {
      features.insert("column with values left out of a header");
    }
    for (const ExpectedReject& r : files[f].rejects) {
      features.insert("row rejected: " + r.kind);
    }
    if (std::find(files[f].columns.begin(), files[f].columns.end(), "note") != files[f].columns.end() ||
        std::find(files[f].columns.begin(), files[f].columns.end(), "source_system") !=
            files[f].columns.end()) {
      features.insert("unknown extra column");
    }
    auto seq = [&](size_t file, const Effective& e) {
      return e.event_from_file ? load_sequence.at(files[*e.event_from_file].name)
             : e.event         ? *e.event
                               : load_sequence.at(files[file].name);
    };
    for (const Effective& e : files[f].rows) {
      for (size_t g = 0; merged_upto && g <= *merged_upto; ++g) {
        for (const Effective& x : files[g].rows) {
          if (x.key == e.key && seq(g, x) > seq(f, e)) {
            features.insert("late record after the newer one was merged");
          }
        }
      }
    }
    if (files[f].merge_after) {
      merged_upto = f;
    }
  }
  if (without) {
    features.insert(with ? "files with and without updated_at" : "only files without updated_at");
  }
}

// ---------------------------------------------------------------------------------------------------------
// Running a plan through the real pipeline.

struct RunOutcome {
  std::string error;  // a failure of the pipeline itself (not a wrong table)
  Tables tables;
  std::map<std::string, Micros> load_sequence;  // object key -> load_history.sequence_time
  std::vector<std::string> check_failures;
  std::vector<std::string> notes;  // other contract violations (rejects, load status)
};

std::string Text(const Value& v) {
  return v ? *v : "NULL";
}
std::string FormatRows(const std::vector<Row>& rows);

Result<std::vector<Row>> QueryRows(Warehouse& w, const std::string& sql) {
  auto r = w.Query(sql);
  if (!r.ok()) {
    return r.error();
  }
  return r->rows;
}

// Replaces the placeholders of updated_at values that are load commit times (see kOpen).
std::string Render(const std::string& content, const std::vector<FilePlan>& files, Warehouse& w,
                   std::string& error) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = content.find(kOpen, pos);
    if (open == std::string::npos) {
      out += content.substr(pos);
      return out;
    }
    size_t close = content.find(kClose, open);
    out += content.substr(pos, open - pos);
    std::string token = content.substr(open + 1, close - open - 1);
    size_t colon = token.find(':');
    size_t file = std::stoul(token.substr(0, colon));
    uint64_t format_seed = std::stoull(token.substr(colon + 1));
    auto t = w.Query("SELECT epoch_us(sequence_time) FROM load_history WHERE object_key = " +
                     QuoteLiteral(files[file].name));
    if (!t.ok() || t->rows.size() != 1 || !t->rows[0][0]) {
      error = "no sequence_time for " + files[file].name;
      return {};
    }
    Rng rng(format_seed);
    out += CsvField(rng, FormatEventTime(rng, std::stoll(*t->rows[0][0])));
    pos = close + 1;
  }
}

RunOutcome Execute(Plan& plan, const fs::path& dir, bool rebuild = false) {
  RunOutcome out;
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir / "bucket");
  EntitySpec entity;
  LocalObjectStore store(dir / "bucket");
  auto opened = DuckDbWarehouse::Open({dir / "w.duckdb"}, entity);
  if (!opened.ok()) {
    out.error = "cannot open the warehouse: " + opened.error().message;
    return out;
  }
  std::unique_ptr<DuckDbWarehouse> warehouse = std::move(*opened);
  Loader loader(LoaderOptions{}, entity, store, nullptr, *warehouse);
  MergeJob merge(entity, *warehouse);
  auto run = [&]() -> std::string {
    for (FilePlan& f : plan.files) {
      std::string render_error;
      f.content = Render(f.content, plan.files, *warehouse, render_error);
      if (!render_error.empty()) {
        return render_error;
      }
      std::ofstream(dir / "bucket" / f.name, std::ios::binary) << f.content;
      auto info = store.Stat(ObjectKey(f.name));
      if (!info.ok()) {
        return "cannot stat " + f.name + ": " + info.error().message;
      }
      auto r = loader.LoadObject(*info);
      if (!r.ok()) {
        return "cannot load " + f.name + ": " + r.error().message;
      }
      if (r->outcome != (f.failed ? LoadOutcome::kFailed : LoadOutcome::kLoaded)) {
        out.notes.push_back(f.name + ": LoadObject outcome " + std::to_string(static_cast<int>(r->outcome)) +
                            (f.failed ? ", expected kFailed" : ", expected kLoaded"));
      }
      if (f.merge_after) {
        auto m = merge.RunOnce();
        if (!m.ok()) {
          return "merge after " + f.name + " failed: " + m.error().message;
        }
      }
    }
    auto loads = QueryRows(*warehouse,
                           "SELECT object_key, status, rows_loaded, rows_rejected, coalesce(error, ''), "
                           "epoch_us(sequence_time) FROM load_history ORDER BY load_id");
    if (!loads.ok()) {
      return loads.error().message;
    }
    if (loads->size() != plan.files.size()) {
      out.notes.push_back("load_history has " + std::to_string(loads->size()) + " rows for " +
                          std::to_string(plan.files.size()) + " files");
    }
    for (const Row& row : *loads) {
      if (row[5]) {
        out.load_sequence[Text(row[0])] = std::stoll(*row[5]);
      }
      auto f = std::find_if(plan.files.begin(), plan.files.end(),
                            [&](const FilePlan& p) { return p.name == Text(row[0]); });
      if (f == plan.files.end()) {
        out.notes.push_back("load_history names an unknown object " + Text(row[0]));
        continue;
      }
      bool ok = f->failed ? Text(row[1]) == "failed" && Text(row[2]) == "0" && !Text(row[4]).empty()
                          : Text(row[1]) == "loaded" && Text(row[2]) == std::to_string(f->rows.size()) &&
                                Text(row[3]) == std::to_string(f->rejects.size()) && row[5];
      if (!ok) {
        out.notes.push_back("load_history of " + f->name + ": status " + Text(row[1]) + ", rows_loaded " +
                            Text(row[2]) + ", rows_rejected " + Text(row[3]) + ", error '" + Text(row[4]) +
                            "', sequence_time " + Text(row[5]) + "; expected " +
                            (f->failed ? std::string("failed with a reason, 0 rows")
                                       : "loaded, " + std::to_string(f->rows.size()) + " rows, " +
                                             std::to_string(f->rejects.size()) + " rejected"));
      }
    }
    // Every rejected row of a loaded file, with its line and raw text and a reason (section 2).
    auto rejects = QueryRows(*warehouse, "SELECT object_key, line, raw, reason FROM customer_rejects");
    if (!rejects.ok()) {
      return rejects.error().message;
    }
    std::vector<Row> want_rejects;
    std::vector<Row> got_rejects;
    for (const FilePlan& f : plan.files) {
      for (const ExpectedReject& r : f.rejects) {
        want_rejects.push_back({f.name, std::to_string(r.line), r.raw ? *r.raw : "(escaped invalid UTF-8)"});
      }
    }
    for (const Row& row : *rejects) {
      auto f = std::find_if(plan.files.begin(), plan.files.end(),
                            [&](const FilePlan& p) { return p.name == Text(row[0]); });
      if (f != plan.files.end() && f->failed) {
        continue;  // what a file rejected whole reports per row is not specified
      }
      if (!row[3] || row[3]->empty()) {
        out.notes.push_back("a reject of " + Text(row[0]) + " line " + Text(row[1]) + " gives no reason");
      }
      Value raw = row[2];
      if (f != plan.files.end()) {
        for (const ExpectedReject& r : f->rejects) {
          if (std::to_string(r.line) == Text(row[1]) && !r.raw) {
            raw = "(escaped invalid UTF-8)";
          }
        }
      }
      got_rejects.push_back({row[0], row[1], raw});
    }
    auto by_file_line = [](const Row& a, const Row& b) {
      return std::make_pair(Text(a[0]), std::stoll(Text(a[1]))) <
             std::make_pair(Text(b[0]), std::stoll(Text(b[1])));
    };
    std::sort(want_rejects.begin(), want_rejects.end(), by_file_line);
    std::sort(got_rejects.begin(), got_rejects.end(), by_file_line);
    if (want_rejects != got_rejects) {
      out.notes.push_back("customer_rejects (object_key, line, raw) differs.\n  expected:\n" +
                          FormatRows(want_rejects) + "  actual:\n" + FormatRows(got_rejects));
    }
    std::string attrs;
    for (const char* a : kAttrNames) {
      attrs += std::string(", ") + a;
    }
    const std::string history_sql = "SELECT customer_id" + attrs +
                                    ", epoch_us(valid_from), epoch_us(valid_to), is_current FROM "
                                    "customer_history ORDER BY customer_id, valid_from";
    const std::string current_sql =
        "SELECT customer_id" + attrs +
        ", epoch_us(valid_from) FROM customer_current ORDER BY customer_id, valid_from";
    auto history = QueryRows(*warehouse, history_sql);
    if (!history.ok()) {
      return history.error().message;
    }
    out.tables.history = *history;
    auto current = QueryRows(*warehouse, current_sql);
    if (!current.ok()) {
      return current.error().message;
    }
    out.tables.current = *current;
    auto failures = CheckInvariants(*warehouse, entity);
    if (!failures.ok()) {
      return "CheckInvariants failed to run: " + failures.error().message;
    }
    out.check_failures = *failures;
    if (rebuild) {
      // Recomputing every key from the retained log must give the same tables (`dimstream rebuild`).
      auto r = merge.Rebuild();
      if (!r.ok()) {
        return "Rebuild failed: " + r.error().message;
      }
      auto h2 = QueryRows(*warehouse, history_sql);
      auto c2 = QueryRows(*warehouse, current_sql);
      if (!h2.ok() || !c2.ok()) {
        return "cannot read the tables after Rebuild";
      }
      if (*h2 != out.tables.history || *c2 != out.tables.current) {
        out.notes.push_back("Rebuild changed the tables; after it:\n  history:\n" + FormatRows(*h2) +
                            "  current:\n" + FormatRows(*c2));
      }
    }
    return {};
  };
  out.error = run();
  warehouse.reset();
  fs::remove_all(dir, ec);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Case driving and reporting.

std::string FormatRows(const std::vector<Row>& rows) {
  std::string s;
  for (const Row& row : rows) {
    s += "    ";
    for (size_t i = 0; i < row.size(); ++i) {
      std::string cell = Text(row[i]);
      std::string esc;
      for (char c : cell) {
        esc += c == '\r' ? std::string("\\r") : c == '\n' ? std::string("\\n") : std::string(1, c);
      }
      s += (i ? " | " : "") + esc;
    }
    s += "\n";
  }
  return s.empty() ? "    (none)\n" : s;
}

std::string DescribeDiff(const std::string& what, const std::vector<Row>& want, const std::vector<Row>& got) {
  if (want == got) {
    return {};
  }
  return what + " differs.\n  expected (" + std::to_string(want.size()) + " rows):\n" + FormatRows(want) +
         "  actual (" + std::to_string(got.size()) + " rows):\n" + FormatRows(got);
}

std::optional<uint64_t> EnvU64(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == 0) {
    return std::nullopt;
  }
  return std::strtoull(v, nullptr, 0);
}

std::vector<uint64_t> CaseSeeds(uint64_t salt, uint64_t default_cases) {
  if (auto seed = EnvU64("DIMSTREAM_PROPERTY_SEED")) {
    return {*seed};
  }
  uint64_t cases = EnvU64("DIMSTREAM_PROPERTY_CASES").value_or(default_cases);
  uint64_t state = EnvU64("DIMSTREAM_PROPERTY_BASE_SEED").value_or(kDefaultBaseSeed) ^ salt;
  std::vector<uint64_t> seeds;
  for (uint64_t i = 0; i < cases; ++i) {
    seeds.push_back(SplitMix(state));
  }
  return seeds;
}

std::string ReproduceLine(uint64_t seed, const std::string& test) {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  char hex[32];
  std::snprintf(hex, sizeof hex, "0x%016llx", static_cast<unsigned long long>(seed));
  return std::string("reproduce: DIMSTREAM_PROPERTY_SEED=") + hex + " " +
         (ec ? std::string("merge_property_test") : exe.string()) + " --gtest_filter=MergeProperty." + test;
}

fs::path WorkDir() {
  spdlog::set_level(
      spdlog::level::warn);  // a load or merge logs a line at info; thousands of them hide failures
  // tmpfs when there is one: the cases create thousands of small DuckDB files and fsync them.
  std::error_code ec;
  fs::path base = fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
  if (const char* dir = std::getenv("DIMSTREAM_PROPERTY_DIR"); dir != nullptr && *dir != 0) {
    base = dir;
  }
  return base / ("dimstream_property_" + std::to_string(::getpid()));
}

size_t TotalBytes(const Plan& plan) {
  size_t n = 0;
  for (const FilePlan& f : plan.files) {
    n += f.content.size();
  }
  return n;
}

std::string RunFailures(const RunOutcome& run, const Tables& want, const std::string& label) {
  std::string problems;
  if (!run.error.empty()) {
    return label + "pipeline error: " + run.error + "\n";
  }
  for (const std::string& n : run.notes) {
    problems += label + n + "\n";
  }
  for (const std::string& f : run.check_failures) {
    problems += label + "CheckInvariants: " + f + "\n";
  }
  problems +=
      DescribeDiff(label + "customer_history (key, 7 attributes, valid_from us, valid_to us, is_current)",
                   want.history, run.tables.history);
  problems += DescribeDiff(label + "customer_current (key, 7 attributes, valid_from us)", want.current,
                           run.tables.current);
  return problems;
}

// Property 1: the dimension equals the reference fold of the loaded records.
TEST(MergeProperty, ReferenceFold) {
  auto started = std::chrono::steady_clock::now();
  std::vector<uint64_t> seeds = CaseSeeds(0x1, kReferenceCases);
  fs::path dir = WorkDir();
  size_t records = 0;
  size_t cases = 0;
  std::map<std::string, size_t> coverage;  // situation -> cases that exercised it
  for (uint64_t seed : seeds) {
    ++cases;
    Rng rng(seed);
    RecordSet set = GenerateRecords(rng);
    PlanOptions options;
    options.no_seq_file_chance = rng.Chance(0.35) ? 0.3 : 0.0;
    options.drop_non_null_columns = rng.Chance(0.3);
    options.merge_chance = static_cast<double>(rng.Below(101)) / 100.0;
    options.load_time_tie_chance = rng.Chance(0.5) ? 0.15 : 0.0;
    options.bad_row_chance = rng.Chance(0.3) ? 0.1 : 0.0;
    options.failed_file_chance = rng.Chance(0.1) ? 0.2 : 0.0;
    options.extra_column_chance = 0.1;
    Plan plan = MakePlan(rng, set.records, options, "f");
    records += set.records.size();
    RunOutcome run = Execute(plan, dir, /*rebuild=*/true);
    std::string problems;
    if (run.error.empty()) {
      std::set<std::string> features;
      Tables want = ReferenceFold(plan.files, run.load_sequence, &features);
      PlanFeatures(plan.files, run.load_sequence, features);
      for (const std::string& f : features) {
        coverage[f]++;
      }
      problems = RunFailures(run, want, "");
    } else {
      problems = "pipeline error: " + run.error + "\n";
    }
    if (!problems.empty()) {
      std::string seqs;
      for (const auto& [name, t] : run.load_sequence) {
        seqs += "  " + name + " sequence_time " + std::to_string(t) + " (" + FormatTimestamp(t) + ")\n";
      }
      ADD_FAILURE() << ReproduceLine(seed, "ReferenceFold") << "\n"
                    << set.records.size() << " records, time grid: " << set.time_mode << "\n"
                    << plan.Describe(TotalBytes(plan) < 8000) << seqs << problems;
      break;  // one failing case is enough to read
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("ReferenceFold: %zu cases, %zu records, %.1f s; cases per situation:\n", cases, records, secs);
  for (const auto& [what, n] : coverage) {
    std::printf("  %5zu  %s\n", n, what.c_str());
  }
}

// Property 2: the same records, split into files and merged in two different ways, give identical tables.
TEST(MergeProperty, BatchingIrrelevant) {
  auto started = std::chrono::steady_clock::now();
  std::vector<uint64_t> seeds = CaseSeeds(0x2, kBatchingCases);
  fs::path dir = WorkDir();
  size_t cases = 0;
  for (uint64_t seed : seeds) {
    ++cases;
    Rng rng(seed);
    RecordSet set = GenerateRecords(rng);
    PlanOptions options;  // every file has updated_at and leaves out only columns that hold nothing
    options.extra_column_chance = 0.1;
    options.merge_chance = static_cast<double>(rng.Below(101)) / 100.0;
    Plan a = MakePlan(rng, set.records, options, "a");
    options.merge_chance = static_cast<double>(rng.Below(101)) / 100.0;
    Plan b = MakePlan(rng, set.records, options, "b");
    RunOutcome ra = Execute(a, dir);
    RunOutcome rb = Execute(b, dir);
    std::string problems;
    if (!ra.error.empty() || !rb.error.empty()) {
      problems = "pipeline error: " + ra.error + " / " + rb.error + "\n";
    } else {
      problems += DescribeDiff("customer_history of split A (expected) vs split B (actual)",
                               ra.tables.history, rb.tables.history);
      problems += DescribeDiff("customer_current of split A (expected) vs split B (actual)",
                               ra.tables.current, rb.tables.current);
      // Both must also be the reference fold (every file has updated_at, so it needs no load times).
      Tables want = ReferenceFold(a.files, {});
      problems += RunFailures(ra, want, "split A: ");
      problems += RunFailures(rb, want, "split B: ");
    }
    if (!problems.empty()) {
      bool small = TotalBytes(a) + TotalBytes(b) < 12000;
      ADD_FAILURE() << ReproduceLine(seed, "BatchingIrrelevant") << "\n"
                    << set.records.size() << " records, time grid: " << set.time_mode << "\nsplit A:\n"
                    << a.Describe(small) << "split B:\n"
                    << b.Describe(small) << problems;
      break;
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("BatchingIrrelevant: %zu cases, %.1f s\n", cases, secs);
}

}  // namespace
}  // namespace dimstream
