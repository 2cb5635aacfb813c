#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include "cli/app_context.h"
#include "common/stop.h"
#include "config/config.h"
#include "warehouse/warehouse.h"

namespace dimstream {

struct ExportOptions {
  std::string entity;             // empty: the only declared entity
  std::string table = "current";  // current or history
  std::string as_of;              // empty: now; else a value of the sequence's type
  std::string format;             // parquet or csv; empty: from --out's extension, else parquet
  std::string out;
};

// `dimstream export`: one table of one entity into a Parquet or CSV file any tool reads, as it is or as of
// a sequence value. Through the running process when it holds the DuckDB file.
void Export(const GlobalOptions& g, const ExportOptions& options);

// `run --publish DIR`: after merge runs, at most every `interval`, every entity's current and history
// tables as Parquet files in a new generation directory DIR/g-<n>/ with a manifest.json (watermark, row
// counts, time), all from one snapshot; then DIR/current, a symbolic link, is switched to it atomically.
// A reader that opens DIR/current/... reads one consistent dimension; the generation before stays for
// readers still on it, older ones are removed.
class Publisher {
 public:
  // `merged` returns how many merge runs the process has committed: publishing waits for a new one.
  Publisher(const Config& config, Warehouse& warehouse, std::filesystem::path dir,
            std::chrono::milliseconds interval, std::function<uint64_t()> merged);
  // Publishes until stopped (on the caller's thread), then once more if runs committed since the last.
  void Run(const StopSignal& stop);
  // One publication now.
  Status PublishNow();

 private:
  const Config& config_;
  Warehouse& warehouse_;
  std::filesystem::path dir_;
  std::chrono::milliseconds interval_;
  std::function<uint64_t()> merged_;
  uint64_t generation_ = 0;
};

}  // namespace dimstream
