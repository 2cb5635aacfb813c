#include "bench/bench_common.h"

#include <sched.h>

#include <ctime>
#include <fstream>
#include <system_error>
#include <thread>

#include <fmt/format.h>

namespace dimstream::bench {

namespace fs = std::filesystem;

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

double ProcessCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

unsigned Nproc() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    return static_cast<unsigned>(CPU_COUNT(&set));
  }
  return std::thread::hardware_concurrency();
}

std::string ProcField(const char* file, std::string_view prefix) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(prefix)) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        size_t start = line.find_first_not_of(" \t", colon + 1);
        return start == std::string::npos ? "" : line.substr(start);
      }
    }
  }
  return "";
}

std::string CpuModel() {
  // x86: "model name"; some ARM kernels: "Model" or nothing at all.
  std::string model = ProcField("/proc/cpuinfo", "model name");
  if (model.empty()) {
    model = ProcField("/proc/cpuinfo", "Model");
  }
  return model.empty() ? "unknown" : model;
}

Result<ObjectKey> PlaceInBucket(const fs::path& source, const fs::path& bucket) {
  fs::path target = bucket / source.filename();
  std::error_code ec;
  fs::remove(target, ec);
  fs::create_hard_link(source, target, ec);
  if (ec) {
    ec.clear();
    fs::copy_file(source, target, fs::copy_options::overwrite_existing, ec);
    if (ec) {
      return Error::Permanent(
          fmt::format("cannot place {} in {}: {}", source.string(), bucket.string(), ec.message()));
    }
  }
  return ObjectKey(source.filename().string());
}

WorkDir::WorkDir(fs::path path, bool keep, std::optional<fs::path> temp_parent)
    : path_(std::move(path)), keep_(keep), temp_parent_(std::move(temp_parent)) {}

WorkDir::~WorkDir() {
  if (keep_) {
    return;
  }
  std::error_code ec;
  fs::remove_all(path_, ec);
  if (temp_parent_ && fs::is_empty(*temp_parent_, ec) && !ec) {
    fs::remove(*temp_parent_, ec);
  }
}

}  // namespace dimstream::bench
