#include <fmt/format.h>

#include "bench/scaleout/child.h"
#include "bench/scaleout/scaleout.h"
#include "bench/scaleout/servers.h"

namespace dimstream::scaleout {

std::string TomlString(const std::string& value) {
  std::string out = "\"";
  for (char ch : value) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
    }
    out += ch;
  }
  return out + "\"";
}

std::string LoadDatabase(uint64_t loaders) {
  return fmt::format("scaleout_load_{}", loaders);
}

BenchOptions WorkloadOptions(const Options& o) {
  BenchOptions b;
  b.keys = o.keys;
  b.initial_rows_per_file = o.rows_per_file;
  const uint64_t initial = (o.keys + o.rows_per_file - 1) / o.rows_per_file;
  b.files = o.files > initial ? o.files - initial : 0;
  b.rows_per_file = o.rows_per_file;
  // The fresh files: one a "second" of `fresh_rows` rows, one more than measured (the warm-up).
  b.files_per_sec = 1;
  b.rate = o.fresh_rows;
  b.freshness_seconds = o.fresh_files + 1;
  b.seed = o.seed;
  return b;
}

Result<fs::path> Context::WriteConfig(const std::string& name, const std::string& db, const fs::path& bucket,
                                      const std::string& extra) const {
  const fs::path path = work / (name + ".toml");
  const std::string text =
      fmt::format("[object_store]\nurl = {}\n[warehouse]\nurl = {}\n{}",
                  TomlString("file://" + bucket.string()), TomlString(WithDatabase(pg_url, db)), extra);
  DIMSTREAM_TRY(WriteFile(path, text));
  return path;
}

std::vector<std::string> Context::Command(const fs::path& config, const fs::path& data_dir,
                                          const std::vector<std::string>& args) const {
  std::vector<std::string> argv{binary.string(),   "--config",    config.string(), "--data-dir",
                                data_dir.string(), "--log-level", o.log_level};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

}  // namespace dimstream::scaleout
