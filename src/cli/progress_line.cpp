#include "cli/progress_line.h"

#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace dimstream {

ProgressLine::ProgressLine(std::function<std::string()> what, bool quiet_info) : what_(std::move(what)) {
  if (::isatty(2) == 0) {
    return;
  }
  if (quiet_info && spdlog::get_level() < spdlog::level::warn) {
    level_ = spdlog::get_level();
    restore_level_ = true;
    spdlog::set_level(spdlog::level::warn);
  }
  thread_ = std::thread([this] {
    const auto start = std::chrono::steady_clock::now();
    bool drawn = false;
    // The first line after a second: a command done by then shows its summary alone.
    while (!done_.WaitFor(drawn ? std::chrono::milliseconds(500) : std::chrono::milliseconds(1000))) {
      const auto seconds =
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start).count();
      fmt::print(stderr, "\r\033[K{} ({} s)", what_(), seconds);
      std::fflush(stderr);
      drawn = true;
    }
    if (drawn) {
      fmt::print(stderr, "\r\033[K");
      std::fflush(stderr);
    }
  });
}

ProgressLine::~ProgressLine() {
  done_.Request();
  if (thread_.joinable()) {
    thread_.join();
  }
  if (restore_level_) {
    spdlog::set_level(static_cast<spdlog::level::level_enum>(level_));
  }
}

}  // namespace dimstream
