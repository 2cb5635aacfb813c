#include "bench/merge/freshness.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/stop.h"
#include "config/config.h"
#include "queue/memory_queue.h"
#include "scheduler/scheduler.h"
#include "warehouse/sql.h"

namespace dimstream {
namespace {

// A freshness file whose latency grows by more than this per second of arrivals means the pipeline
// processes less than 90% of the offered rate: it falls behind.
constexpr double kFellBehindSlope = 0.1;

// Keeps the roles of the freshness phase running until it goes out of scope: then it stops and joins them,
// on every way out.
class RoleThreads {
 public:
  explicit RoleThreads(StopSignal& stop) : stop_(stop) {}
  RoleThreads(const RoleThreads&) = delete;
  RoleThreads& operator=(const RoleThreads&) = delete;
  ~RoleThreads() { StopAndJoin(); }
  void Start(std::function<void()> fn) { threads_.emplace_back(std::move(fn)); }
  void StopAndJoin() {
    stop_.Request();
    for (auto& t : threads_) {
      if (t.joinable()) {
        t.join();
      }
    }
    threads_.clear();
  }

 private:
  StopSignal& stop_;
  std::vector<std::thread> threads_;
};

}  // namespace

Status RunFreshness(const BenchOptions& o, const std::vector<const PlannedFile*>& files, const Paths& p,
                    const EntitySpec& entity, Warehouse& warehouse, LocalObjectStore& store, MergeJob& merge,
                    FreshnessResult& r) {
  if (files.empty()) {
    return Ok();
  }
  r.ran = true;
  r.files = files.size();
  r.rows_per_file = files.front()->mix.rows();
  Config defaults;
  MemoryQueue queue;
  Mover mover(MoverOptionsFromDefaults(p.landing), store, queue);
  Scheduler task(entity.merge_job(), std::chrono::milliseconds(defaults.merge_interval_ms),
                 [&merge]() -> Status {
                   auto t = merge.RunOnce();
                   if (!t.ok()) {
                     return t.error();
                   }
                   return Ok();
                 });
  Loader loader(LoaderOptionsFromDefaults(), entity, store, &queue, warehouse,
                [&task](const std::string&) { task.Trigger(); });
  // As in `run`: compaction yields to records waiting for the next run; no longer once this phase ends.
  merge.SetWorkWaiting([&task] { return task.Pending(); });
  struct Unset {
    MergeJob& merge;
    ~Unset() { merge.SetWorkWaiting(nullptr); }
  } unset{merge};

  const std::string lets_sql = fmt::format(
      "SELECT parameter_value FROM {} WHERE job_name = {} AND parameter_name = {}",
      QuoteIdent("parameter_control"), QuoteLiteral(entity.merge_job()), QuoteLiteral(kWatermarkParameter));
  auto read_lets = [&]() -> Result<int64_t> {
    auto text = QueryText(warehouse, lets_sql);
    if (!text.ok()) {
      return text.error();
    }
    std::optional<int64_t> v = *text ? ParseInt(**text) : std::optional<int64_t>(0);
    if (!v) {
      return Error::Permanent("LETS is not an integer: " + **text);
    }
    return *v;
  };
  auto first = read_lets();
  if (!first.ok()) {
    return first.error();
  }

  struct LetsPoint {
    Clock::time_point at;
    int64_t lets;
  };
  std::vector<LetsPoint> timeline{{Clock::now(), *first}};
  std::mutex timeline_mu;
  std::atomic<int64_t> last_lets{*first};
  std::atomic<uint64_t> polls{0};
  StopSignal poll_stop;
  RoleThreads poller(poll_stop);
  poller.Start([&] {
    // The time after the query returned: the commit is seen at most one poll interval plus a query late.
    while (!poll_stop.WaitFor(std::chrono::milliseconds(o.poll_ms))) {
      auto v = read_lets();
      auto seen = Clock::now();
      polls++;
      if (v.ok() && *v != last_lets) {
        std::lock_guard lock(timeline_mu);
        timeline.push_back({seen, *v});
        last_lets = *v;
      }
    }
  });

  const uint64_t runs_before = merge.stats().runs;
  const uint64_t merged_before = merge.stats().rows_merged;
  StopSignal stop;
  RoleThreads roles(stop);
  roles.Start([&] {
    Status st = mover.Run(stop, false);
    if (!st.ok()) {
      spdlog::error("mover stopped: {}", st.error().message);
    }
  });
  roles.Start([&] { (void)loader.Run(stop, false); });
  roles.Start([&] { task.Run(stop); });

  const auto period = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(1.0 / static_cast<double>(o.files_per_sec)));
  // A moment for the loader's first listing of the bucket (every earlier object, already loaded).
  const auto start = Clock::now() + std::chrono::milliseconds(200);
  std::vector<Clock::time_point> renamed(files.size());
  auto next_progress = start + std::chrono::seconds(1);
  fmt::print(stderr, "  freshness: {} files of {} rows into landing over {} s\n", files.size(),
             r.rows_per_file, o.freshness_seconds);
  for (size_t i = 0; i < files.size(); ++i) {
    const auto target = start + period * static_cast<int64_t>(i);
    std::this_thread::sleep_until(target);
    std::error_code ec;
    fs::rename(p.files / files[i]->name, p.landing / files[i]->name, ec);
    renamed[i] = Clock::now();
    if (ec) {
      return Error::Permanent(
          fmt::format("cannot rename {} into {}: {}", files[i]->name, p.landing.string(), ec.message()));
    }
    r.feed_lateness = std::max(r.feed_lateness, Seconds(renamed[i] - target));
    if (renamed[i] >= next_progress) {
      fmt::print(stderr,
                 "  freshness {:.0f} s: {} of {} files renamed into landing, {} loaded, {} rows merged\n",
                 Seconds(renamed[i] - start), i + 1, files.size(), loader.stats().objects_loaded.load(),
                 Count(merge.stats().rows_merged - merged_before));
      next_progress += std::chrono::seconds(1);
    }
  }
  r.feed_seconds = Seconds(renamed.back() - renamed.front());

  // Drain: wait until the last load is covered by the watermark, or the timeout.
  const uint64_t timeout_s =
      o.drain_timeout_s != 0 ? o.drain_timeout_s : std::max<uint64_t>(60, 6 * o.freshness_seconds);
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  next_progress = Clock::now() + std::chrono::seconds(1);
  int64_t last_threshold = -1;
  while (Clock::now() < deadline) {
    const LoaderStats& s = loader.stats();
    if (last_threshold < 0 && s.objects_loaded + s.objects_failed >= files.size()) {
      auto top = QueryInt(warehouse, "SELECT max(load_id) FROM load_history");
      if (top.ok()) {
        last_threshold = (*top << 32) + static_cast<int64_t>(r.rows_per_file);
      }
    }
    if (last_threshold >= 0 && last_lets >= last_threshold) {
      break;
    }
    if (Clock::now() >= next_progress) {
      fmt::print(stderr, "  freshness: draining, {} of {} files loaded, {} rows merged\n",
                 s.objects_loaded.load(), files.size(), Count(merge.stats().rows_merged - merged_before));
      next_progress += std::chrono::seconds(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto gave_up = Clock::now();
  roles.StopAndJoin();
  poller.StopAndJoin();
  r.merge_runs = merge.stats().runs - runs_before;
  r.lets_polls = polls;

  // Object key -> the watermark that covers it.
  auto history = warehouse.Query("SELECT load_id, object_key, rows_loaded + rows_rejected FROM load_history");
  if (!history.ok()) {
    return history.error();
  }
  std::map<std::string, int64_t> threshold;
  for (const auto& row : history->rows) {
    if (row.size() == 3 && row[0] && row[1] && row[2]) {
      auto id = ParseInt(*row[0]);
      auto rows = ParseInt(*row[2]);
      if (id && rows) {
        threshold[*row[1]] = (*id << 32) + *rows;
      }
    }
  }
  std::vector<std::optional<Clock::time_point>> visible(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    auto it = threshold.find(files[i]->name);
    if (it == threshold.end()) {
      continue;
    }
    // The watermark only grows: the first point at or above the threshold is when the file became visible.
    auto point = std::lower_bound(timeline.begin(), timeline.end(), it->second,
                                  [](const LetsPoint& pt, int64_t v) { return pt.lets < v; });
    if (point != timeline.end()) {
      visible[i] = std::max(point->at, renamed[i]);
    }
  }
  Clock::time_point all_visible = renamed.back();
  for (size_t i = 0; i < files.size(); ++i) {
    if (!visible[i]) {
      r.unmerged++;
      r.latency.push_back(Seconds(gave_up - renamed[i]));
      continue;
    }
    r.latency.push_back(Seconds(*visible[i] - renamed[i]));
    all_visible = std::max(all_visible, *visible[i]);
  }
  r.drain_seconds = Seconds(all_visible - renamed.back());
  for (size_t j = 0; j < files.size(); ++j) {
    uint64_t backlog = 0;
    for (size_t i = 0; i <= j; ++i) {
      backlog += (!visible[i] || *visible[i] > renamed[j]) ? 1 : 0;
    }
    r.max_backlog = std::max(r.max_backlog, backlog);
    if (j + 1 == files.size()) {
      r.backlog_at_end = backlog;
    }
  }
  // Least-squares slope of latency over arrival time.
  double n = 0;
  double sx = 0;
  double sy = 0;
  double sxx = 0;
  double sxy = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    if (visible[i]) {
      double x = Seconds(renamed[i] - renamed.front());
      double y = Seconds(*visible[i] - renamed[i]);
      n += 1;
      sx += x;
      sy += y;
      sxx += x * x;
      sxy += x * y;
    }
  }
  double denominator = n * sxx - sx * sx;
  r.slope = n >= 2 && denominator > 0 ? (n * sxy - sx * sy) / denominator : 0.0;
  r.fell_behind = r.unmerged > 0 || r.slope > kFellBehindSlope;
  return Ok();
}

}  // namespace dimstream
