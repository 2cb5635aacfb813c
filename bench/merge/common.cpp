#include "bench/merge/common.h"

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <system_error>

#include <fmt/format.h>

#include "bench/merge/workload.h"
#include "cli/command_support.h"
#include "config/config.h"

namespace dimstream {

double MemTotalGb() {
  std::string kb = ProcField("/proc/meminfo", "MemTotal");
  return kb.empty() ? 0.0 : std::strtod(kb.c_str(), nullptr) / 1024.0 / 1024.0;
}

uint64_t RssBytes() {
  malloc_trim(0);
  std::ifstream in("/proc/self/statm");
  uint64_t size = 0;
  uint64_t resident = 0;
  in >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

uint64_t PeakRssBytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<uint64_t>(ru.ru_maxrss) * 1024;
}

std::string Count(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) {
      out += ',';
    }
    out += digits[i];
  }
  return out;
}

std::string Rate(double per_second) {
  return Count(static_cast<uint64_t>(std::llround(std::max(0.0, per_second))));
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) {
    return 0.0;
  }
  std::sort(v.begin(), v.end());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

std::optional<int64_t> ParseInt(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return v;
}

void AddStep(StepTimes& steps, std::string_view name, double seconds) {
  for (auto& [n, s] : steps) {
    if (n == name) {
      s += seconds;
      return;
    }
  }
  steps.emplace_back(std::string(name), seconds);
}

double StepSeconds(const StepTimes& steps, std::string_view name) {
  for (const auto& [n, s] : steps) {
    if (n == name) {
      return s;
    }
  }
  return 0.0;
}

DuckDbOptions WarehouseOptions(const BenchOptions& o, const Paths& p) {
  Config defaults;
  DuckDbOptions db;
  db.path = p.dimstream_db;
  db.threads = o.threads != 0 ? o.threads : defaults.warehouse_threads;
  db.memory_limit = defaults.warehouse_memory_limit;
  db.checkpoint_threshold = defaults.warehouse_checkpoint_threshold;
  return db;
}

LoaderOptions LoaderOptionsFromDefaults() {
  return LoaderOptionsFrom(Config{});
}

MoverOptions MoverOptionsFromDefaults(const fs::path& landing) {
  Config defaults;
  defaults.landing_dir = landing.string();
  return MoverOptionsFrom(defaults);
}

Result<std::optional<std::string>> QueryText(Warehouse& w, const std::string& sql) {
  auto r = w.Query(sql);
  if (!r.ok()) {
    return r.error().Context(sql);
  }
  if (r->rows.empty() || r->rows[0].empty()) {
    return std::optional<std::string>();
  }
  return r->rows[0][0];
}

Result<int64_t> QueryInt(Warehouse& w, const std::string& sql) {
  auto text = QueryText(w, sql);
  if (!text.ok()) {
    return text.error();
  }
  std::optional<int64_t> v = *text ? ParseInt(**text) : std::nullopt;
  if (!v) {
    return Error::Permanent("not an integer result: " + sql);
  }
  return *v;
}

MemorySample Sample(std::string phase, Warehouse* w, const MergeJob* job, uint64_t keys) {
  MemorySample s;
  s.phase = std::move(phase);
  s.rss = RssBytes();
  s.peak = std::max(PeakRssBytes(), s.rss);  // ru_maxrss lags the last few pages
  if (w != nullptr) {
    auto duck =
        QueryInt(*w, "SELECT CAST(coalesce(sum(memory_usage_bytes), 0) AS BIGINT) FROM duckdb_memory()");
    s.duckdb = duck.ok() ? *duck : -1;
  }
  s.state = job != nullptr ? static_cast<int64_t>(job->StateBytes()) : -1;
  s.keys = keys;
  return s;
}

Result<uint64_t> LoadPlanned(Loader& loader, LocalObjectStore& store, const Paths& p, const PlannedFile& f) {
  auto key = PlaceInBucket(p.files / f.name, p.bucket);
  if (!key.ok()) {
    return key.error();
  }
  auto info = store.Stat(*key);
  if (!info.ok()) {
    return info.error();
  }
  uint64_t before = loader.stats().rows_loaded;
  auto receipt = loader.LoadObject(*info);
  if (!receipt.ok()) {
    return receipt.error().Context("cannot load " + f.name);
  }
  if (receipt->outcome != LoadOutcome::kLoaded) {
    return Error::Permanent(
        fmt::format("the load of {} committed no rows ({})", f.name,
                    receipt->outcome == LoadOutcome::kFailed ? "failed" : "already loaded"));
  }
  return loader.stats().rows_loaded - before;
}

Result<TaskRecord> TimedMerge(MergeJob& job, Timings& t) {
  double cpu = ProcessCpuSeconds();
  auto start = Clock::now();
  auto task = job.RunOnce();
  double s = Seconds(Clock::now() - start);
  if (!task.ok()) {
    return task.error();
  }
  t.Add(s, task->rows_in, ProcessCpuSeconds() - cpu);
  return task;
}

}  // namespace dimstream
