#pragma once

// What both benchmark programs need besides dimstream itself: timing, the machine's description, putting a
// file into the bucket, and a work directory that cleans up after itself.
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "object_store/object_store.h"

namespace dimstream::bench {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d);

// CPU time of the whole process (every DuckDB thread included), in seconds. On a shared machine it moves
// less than wall time, and next to it shows how many cores a measurement kept busy.
double ProcessCpuSeconds();

// What `nproc` prints: the CPUs this process may run on.
unsigned Nproc();

// The first line of a /proc file (/proc/cpuinfo, /proc/meminfo) that starts with `prefix`, after its
// colon; empty when there is none.
std::string ProcField(const char* file, std::string_view prefix);

// The CPU's model name ("unknown" when /proc/cpuinfo does not say).
std::string CpuModel();

// Places `source` in the bucket under its file name: a hard link when possible (no copy), else a copy.
Result<ObjectKey> PlaceInBucket(const std::filesystem::path& source, const std::filesystem::path& bucket);

// Removes a directory on every way out unless `keep`; also `temp_parent` (a temporary directory the program
// made for it) when nothing else is left in that one.
class WorkDir {
 public:
  WorkDir(std::filesystem::path path, bool keep,
          std::optional<std::filesystem::path> temp_parent = std::nullopt);
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;
  ~WorkDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  bool keep_;
  std::optional<std::filesystem::path> temp_parent_;
};

}  // namespace dimstream::bench
