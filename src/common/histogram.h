#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include "common/clock.h"

namespace dimstream {

// A distribution of durations, counted by the role that measures them and read by whoever reports them
// (the metrics endpoint): fixed buckets from 1 ms to 5 minutes, each an atomic count, so that Observe is
// a few relaxed increments from any thread and a reader never blocks it.
class DurationHistogram {
 public:
  // Upper bounds of the buckets, in seconds (Prometheus' `le`); one more bucket counts everything above.
  static constexpr std::array<double, 16> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                     0.5,   1,      2.5,   5,    10,    30,   60,  300};

  void Observe(Micros duration);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // per bound of kBounds: observations <= it
    uint64_t count = 0;
    double sum_seconds = 0;
  };
  // Counts as of now, bucket by bucket: `count` is what the buckets hold (the +Inf bucket), so the two
  // always agree; `sum_seconds` may run one concurrent observation ahead of or behind them.
  Snapshot Read() const;

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<int64_t> sum_us_{0};
};

}  // namespace dimstream
