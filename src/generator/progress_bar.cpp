#include "generator/progress_bar.h"

#include <algorithm>
#include <string>

#include <fmt/format.h>

namespace dimstream {
namespace {

constexpr auto kRedrawEvery = std::chrono::milliseconds(100);
constexpr size_t kBarWidth = 30;

}  // namespace

ProgressBar::ProgressBar(bool enabled, uint64_t total, std::FILE* out)
    : enabled_(enabled), total_(total), out_(out), start_(std::chrono::steady_clock::now()), last_draw_() {}

ProgressBar::~ProgressBar() {
  Finish();
}

void ProgressBar::Update(uint64_t rows) {
  if (!enabled_) {
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < kRedrawEvery) {
    return;
  }
  last_draw_ = now;
  Draw(rows);
}

void ProgressBar::Draw(uint64_t rows) {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = seconds > 0 ? static_cast<double>(rows) / seconds : 0.0;
  std::string line = "\rgenerate ";
  if (total_ > 0) {
    const double done = std::min(1.0, static_cast<double>(rows) / static_cast<double>(total_));
    const auto filled = static_cast<size_t>(done * kBarWidth);
    line += fmt::format("[{}{}] {:3.0f}% {}/{} rows", std::string(filled, '#'),
                        std::string(kBarWidth - filled, ' '), done * 100, rows, total_);
  } else {
    line += fmt::format("{} rows", rows);
  }
  if (seconds >= 0.5) {
    // Earlier, a handful of rows over a few microseconds would show a meaningless rate.
    line += fmt::format("  {:.0f} rows/s", rate);
  }
  line += "\x1b[K";
  std::fputs(line.c_str(), out_);
  std::fflush(out_);
  drawn_ = true;
}

void ProgressBar::Finish() {
  if (!enabled_ || !drawn_) {
    return;
  }
  // Carriage return and erase-line: the terminal is left as it was before the bar.
  std::fputs("\r\x1b[K", out_);
  std::fflush(out_);
  drawn_ = false;
}

}  // namespace dimstream
