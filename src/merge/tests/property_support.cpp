#include "merge/tests/property_support.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <system_error>

#include <spdlog/spdlog.h>
#include <unistd.h>

namespace dimstream::property {
namespace {

std::optional<uint64_t> EnvU64(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == 0) {
    return std::nullopt;
  }
  return std::strtoull(v, nullptr, 0);
}

}  // namespace

uint64_t SplitMix(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

int RandomRecordCount(Rng& rng) {
  return rng.Chance(0.2) ? rng.Int(1, 4) : rng.Chance(0.8) ? rng.Int(4, 20) : rng.Int(20, 60);
}

std::vector<uint64_t> CaseSeeds(const Suite& suite, uint64_t salt, uint64_t default_cases) {
  if (auto seed = EnvU64("DIMSTREAM_PROPERTY_SEED")) {
    return {*seed};
  }
  uint64_t cases = EnvU64("DIMSTREAM_PROPERTY_CASES").value_or(default_cases);
  uint64_t state = EnvU64("DIMSTREAM_PROPERTY_BASE_SEED").value_or(suite.default_base_seed) ^ salt;
  std::vector<uint64_t> seeds;
  for (uint64_t i = 0; i < cases; ++i) {
    seeds.push_back(SplitMix(state));
  }
  return seeds;
}

std::string ReproduceLine(const Suite& suite, uint64_t seed, const std::string& test) {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  char hex[32];
  std::snprintf(hex, sizeof hex, "0x%016llx", static_cast<unsigned long long>(seed));
  if (suite.engine == Engine::kPostgres) {
    return std::string("reproduce, in the build directory: DIMSTREAM_PROPERTY_SEED=") + hex + " ctest -R '^" +
           suite.binary + "\\." + suite.name + "\\." + test + "$' --output-on-failure";
  }
  return std::string("reproduce: DIMSTREAM_PROPERTY_SEED=") + hex + " " +
         (ec ? std::string(suite.binary) : exe.string()) + " --gtest_filter=" + suite.name + "." + test;
}

fs::path WorkDir(const Suite& suite) {
  spdlog::set_level(suite.log_level);
  std::error_code ec;
  fs::path base = fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
  if (const char* dir = std::getenv("DIMSTREAM_PROPERTY_DIR"); dir != nullptr && *dir != 0) {
    base = dir;
  }
  return base / (suite.work_dir + std::to_string(::getpid()));
}

void Tally::Count(const std::set<std::string>& situations) {
  for (const std::string& s : situations) {
    coverage[s]++;
  }
}

void RunProperty(const Suite& suite, const std::string& test, uint64_t salt, uint64_t default_cases,
                 Summary summary, const CaseFn& run_case) {
  auto started = std::chrono::steady_clock::now();
  std::vector<uint64_t> seeds = CaseSeeds(suite, salt, default_cases);
  fs::path dir = WorkDir(suite);
  Tally tally;
  size_t cases = 0;
  for (uint64_t seed : seeds) {
    ++cases;
    std::string failure = run_case(seed, dir, tally);
    if (!failure.empty()) {
      ADD_FAILURE() << ReproduceLine(suite, seed, test) << "\n" << failure;
      break;
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (summary == Summary::kCases) {
    std::printf("%s: %zu cases, %.1f s\n", test.c_str(), cases, secs);
    return;
  }
  std::printf("%s: %zu cases, %zu records, %.1f s; cases per situation:\n", test.c_str(), cases,
              tally.records, secs);
  for (const auto& [what, n] : tally.coverage) {
    std::printf("  %5zu  %s\n", n, what.c_str());
  }
}

std::string EpochMicrosSql(Engine engine, const std::string& timestamp) {
  if (engine == Engine::kPostgres) {
    // EXTRACT gives a NUMERIC since PostgreSQL 14: exact to the microsecond.
    return "CAST(EXTRACT(EPOCH FROM " + timestamp + ") * 1000000 AS BIGINT)";
  }
  return "epoch_us(" + timestamp + ")";
}

std::string Text(const Value& v) {
  return v ? *v : "NULL";
}

std::string FormatRows(const std::vector<Row>& rows) {
  std::string s;
  for (const Row& row : rows) {
    s += "    ";
    for (size_t i = 0; i < row.size(); ++i) {
      std::string esc;
      for (char c : Text(row[i])) {
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

}  // namespace dimstream::property
