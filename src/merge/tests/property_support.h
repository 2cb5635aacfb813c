// Case driving for the merge's property tests (property_test.cpp: the built-in customer entity;
// entity_property_test.cpp: declared entities of random shapes): the randomness that makes a seed one case
// on every platform, the seeds a run takes from the environment, the loop that runs a property's cases and
// reports the first failing one with the line that runs it again, and the printing of rows and differences.
//
// Environment (read here for both tests):
//   DIMSTREAM_PROPERTY_CASES=N       cases per property (default: the property's own count)
//   DIMSTREAM_PROPERTY_SEED=S        run only the case with seed S (decimal or 0x hex), as printed on failure
//   DIMSTREAM_PROPERTY_BASE_SEED=B   derive the case seeds from B instead of the suite's fixed default
//   DIMSTREAM_PROPERTY_DIR=D         where the cases' bucket and DuckDB file live (default /dev/shm, else
//                                    the temp directory); one subdirectory per process, removed after each
//                                    case
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/common.h>

#include "warehouse/warehouse.h"

namespace dimstream::property {

// How a case's merge compacts the delta of merge on read (MergeOptions::delta_rows_max, compaction_slice):
// kIdle only when idle (at once, not after MergeOptions::idle_compaction_after), kEveryRun all of it after
// every run, kSlices one row at a time down to one once it holds more than two, kOpenedToBase the versions
// a run opens into the base tables at once (MergeOptions::opened_to_base_from 1), the rest when idle.
enum class Compaction : uint32_t { kIdle = 0, kEveryRun = 1, kSlices = 2, kOpenedToBase = 3 };
inline constexpr uint32_t kCompactions = 4;
const char* CompactionName(Compaction mode);

namespace fs = std::filesystem;

// splitmix64, nothing from <random>, so a seed means the same case on every platform.
uint64_t SplitMix(uint64_t& state);

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

// How many records a case draws: 1-4 in a fifth of the cases, else mostly 4-20, sometimes 20-60.
int RandomRecordCount(Rng& rng);

// Now and then (8% of the calls, when there is one): appends an exact duplicate of an earlier record.
template <typename Record>
bool AppendDuplicate(Rng& rng, std::vector<Record>& records) {
  if (records.empty() || !rng.Chance(0.08)) {
    return false;
  }
  records.push_back(records[rng.Below(records.size())]);
  return true;
}

// Where a property test's cases run: a DuckDB file of each run's own, or a database of each run's own on
// the test PostgreSQL (the CTest fixture `postgres`). The same cases, with the same expected tables.
enum class Engine { kDuckDb, kPostgres };

// Whether the test binary being built runs its cases on PostgreSQL: the binaries built with
// DIMSTREAM_PROPERTY_ON_POSTGRES (merge_property_postgres_test, merge_entity_property_postgres_test). Not
// inline: each file has its own, for the support library is built once, without it, and takes the engine
// from its Suite instead.
#ifdef DIMSTREAM_PROPERTY_ON_POSTGRES
constexpr bool kOnPostgres = true;
#else
constexpr bool kOnPostgres = false;
#endif
constexpr Engine kBuiltFor = kOnPostgres ? Engine::kPostgres : Engine::kDuckDb;

// `timestamp` (SQL of a TIMESTAMP) as microseconds since the epoch, a BIGINT, in `engine`'s SQL.
std::string EpochMicrosSql(Engine engine, const std::string& timestamp);

// What tells one property test binary apart: the seeds it draws, how a failure names it, where it works.
struct Suite {
  const char* binary;          // the executable, for the reproduce line when /proc/self/exe is unreadable,
                               // and the prefix of its tests' CTest names
  const char* name;            // the GoogleTest suite, for the reproduce line's filter
  uint64_t default_base_seed;  // what the case seeds derive from unless DIMSTREAM_PROPERTY_BASE_SEED says
  const char* work_dir;        // the work directory's name, before the process id
  spdlog::level::level_enum log_level;  // a load or merge logs at info (and a failed file at warning):
                                        // thousands of such lines would hide the failures
  Engine engine;                        // the warehouse the cases run on
};

// The seeds of one property's cases: DIMSTREAM_PROPERTY_SEED alone, else DIMSTREAM_PROPERTY_CASES (or
// `default_cases`) seeds derived from the base seed and `salt` (one per property).
std::vector<uint64_t> CaseSeeds(const Suite& suite, uint64_t salt, uint64_t default_cases);

// The command line that runs the case with `seed` of property `test` again: on PostgreSQL through ctest,
// which starts the server.
std::string ReproduceLine(const Suite& suite, uint64_t seed, const std::string& test);

// This process's directory for the cases' bucket and DuckDB file: tmpfs when there is one, since the cases
// create thousands of small DuckDB files and fsync them. Also sets the log level.
fs::path WorkDir(const Suite& suite);

// What a property's cases exercised, printed after them.
struct Tally {
  size_t records = 0;
  std::map<std::string, size_t> coverage;  // situation -> cases that exercised it

  void Count(const std::set<std::string>& situations);
};

enum class Summary {
  kCases,     // "<test>: N cases, S s"
  kCoverage,  // also the records and the cases per situation (Tally)
};

// One case: draws it from `seed`, runs it with its files under `dir` and returns what went wrong, headed
// by what a reader needs to follow the case (empty: it passed).
using CaseFn = std::function<std::string(uint64_t seed, const fs::path& dir, Tally& tally)>;

// Runs property `test` of `suite`: its cases in seed order until one fails (one failing case is enough to
// read; it becomes the test's failure, after the line that reproduces it), then prints the summary.
void RunProperty(const Suite& suite, const std::string& test, uint64_t salt, uint64_t default_cases,
                 Summary summary, const CaseFn& run_case);

// ---------------------------------------------------------------------------------------------------------
// Rows as the tests read tables and compare them.

using Row = std::vector<Value>;

struct Tables {
  std::vector<Row> history;  // as the test's history query prints it
  std::vector<Row> current;  // as the test's current query prints it
};

std::string Text(const Value& v);

// One row a line, cells separated by " | ", line ends shown as \r and \n; "(none)" for no rows.
std::string FormatRows(const std::vector<Row>& rows);

// Empty when `want` equals `got`, else both, under the heading "<what> differs.".
std::string DescribeDiff(const std::string& what, const std::vector<Row>& want, const std::vector<Row>& got);

// The bytes of a plan's files, to decide whether a failure shows them.
template <typename File>
size_t TotalBytes(const std::vector<File>& files) {
  size_t n = 0;
  for (const File& f : files) {
    n += f.content.size();
  }
  return n;
}

}  // namespace dimstream::property
