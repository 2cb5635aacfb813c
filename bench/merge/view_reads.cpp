#include "bench/merge/view_reads.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "bench/merge/common.h"

namespace dimstream {
namespace {

constexpr int kTries = 3;
constexpr const char* kCurrentCopy = "bench_current_compacted";
constexpr const char* kHistoryCopy = "bench_history_compacted";

// The best of kTries runs of `sql`, in milliseconds.
Result<double> BestMs(DuckDbWarehouse& warehouse, const std::string& sql) {
  double best = std::numeric_limits<double>::max();
  for (int i = 0; i < kTries; ++i) {
    auto start = Clock::now();
    auto rows = warehouse.Query(sql);
    double ms = Seconds(Clock::now() - start) * 1000.0;
    if (!rows.ok()) {
      return rows.error().Context(sql);
    }
    best = std::min(best, ms);
  }
  return best;
}

Status Exec(DuckDbWarehouse& warehouse, const std::string& sql) {
  auto done = warehouse.Query(sql);
  return done.ok() ? Ok() : Status(done.error().Context(sql));
}

}  // namespace

Status RunViewReads(DuckDbWarehouse& warehouse, ViewReadResult& r) {
  auto values = QueryInt(warehouse, "SELECT count(updated) FROM customer_delta");
  auto closes = QueryInt(warehouse, "SELECT count(*) - count(updated) FROM customer_delta");
  // A key with a delta row, so that its lookup goes through the delta (any key when the delta is empty).
  auto key = QueryInt(warehouse,
                      "SELECT coalesce((SELECT kid FROM customer_delta WHERE updated IS NOT NULL LIMIT 1), "
                      "(SELECT min(customer_id) FROM customer_current))");
  if (!values.ok() || !closes.ok() || !key.ok()) {
    return (!values.ok() ? values : !closes.ok() ? closes : key).error();
  }
  r.delta_values = static_cast<uint64_t>(*values);
  r.delta_closes = static_cast<uint64_t>(*closes);
  // What a full compaction would leave: the views' rows as plain tables in the same file.
  DIMSTREAM_TRY(Exec(
      warehouse, fmt::format("CREATE OR REPLACE TABLE {} AS SELECT * FROM customer_current", kCurrentCopy)));
  DIMSTREAM_TRY(Exec(
      warehouse, fmt::format("CREATE OR REPLACE TABLE {} AS SELECT * FROM customer_history", kHistoryCopy)));
  DIMSTREAM_TRY(Exec(warehouse, "CHECKPOINT"));
  struct Shape {
    const char* what;
    const char* view;
    const char* copy;
    std::string sql;  // {0}: the table
  };
  const std::string scan =
      "SELECT count(*), count(DISTINCT state), max(length(email)), max(valid_from) FROM {0}";
  const std::string one = fmt::format("SELECT * FROM {{0}} WHERE customer_id = {}", *key);
  const std::vector<Shape> shapes = {
      {"full-scan aggregate over current", "customer_current", kCurrentCopy, scan},
      {"full-scan aggregate over history", "customer_history", kHistoryCopy, scan},
      {"one key's current row", "customer_current", kCurrentCopy, one},
      {"one key's history", "customer_history", kHistoryCopy, one},
  };
  Status status = Ok();
  for (const Shape& s : shapes) {
    auto view = BestMs(warehouse, fmt::format(fmt::runtime(s.sql), s.view));
    auto table = BestMs(warehouse, fmt::format(fmt::runtime(s.sql), s.copy));
    if (!view.ok() || !table.ok()) {
      status = (view.ok() ? table : view).error();
      break;
    }
    r.reads.push_back(ViewRead{s.what, *view, *table});
  }
  for (const char* copy : {kCurrentCopy, kHistoryCopy}) {
    Status dropped = Exec(warehouse, fmt::format("DROP TABLE IF EXISTS {}", copy));
    if (status.ok() && !dropped.ok()) {
      status = dropped;
    }
  }
  r.ran = status.ok();
  return status;
}

}  // namespace dimstream
