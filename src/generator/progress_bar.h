#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>

namespace dimstream {

// A one-line progress bar on a terminal: rows written (of the total, when there is one) and rows/s,
// redrawn at most ten times a second and erased by Finish so that what follows starts on a clean line.
// Owns nothing but its timing; draws only when enabled (Generate enables it when stderr is a terminal and
// --no-progress is not given). Called on Generate's thread.
class ProgressBar {
 public:
  // `total` 0: an endless stream, shown without a bar.
  ProgressBar(bool enabled, uint64_t total, std::FILE* out = stderr);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void Update(uint64_t rows);
  void Finish();

 private:
  void Draw(uint64_t rows);

  bool enabled_;
  bool drawn_ = false;
  uint64_t total_;
  std::FILE* out_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace dimstream
