#include "generator/landing_loop.h"

#include <unistd.h>

#include <chrono>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "generator/landing_file.h"
#include "generator/progress_bar.h"

namespace dimstream {
namespace {

// Spaces rows 1/rate seconds apart on the steady clock, sleeping through StopSignal::WaitFor so that a
// stop ends the wait at once. Owns only its schedule; used by WriteLandingFiles on its thread.
class Pacer {
 public:
  explicit Pacer(double rate) : rate_(rate), base_(std::chrono::steady_clock::now()) {}

  // Waits until the next row is due. False when a stop was requested.
  bool WaitTurn(const StopSignal& stop) {
    if (rate_ <= 0) {
      return !stop.Requested();
    }
    using Clock = std::chrono::steady_clock;
    const auto due = base_ + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(static_cast<double>(n_) / rate_));
    const auto now = Clock::now();
    if (now - due > std::chrono::seconds(1)) {
      // Far behind (a slow disk, a suspended process): forget the debt rather than burst to catch up.
      base_ = now - (due - base_);
    } else if (due - now > std::chrono::milliseconds(1)) {
      if (stop.WaitFor(due - now)) {
        return false;
      }
    }
    ++n_;
    return !stop.Requested();
  }

 private:
  double rate_;
  std::chrono::steady_clock::time_point base_;
  uint64_t n_ = 0;
};

}  // namespace

Result<GenerateStats> WriteLandingFiles(const GenerateOptions& options, const std::filesystem::path& landing,
                                        const std::string& prefix, const std::string& header,
                                        const NextRow& next, const StopSignal& stop,
                                        const OnGeneratedFile& on_file) {
  std::error_code ec;
  std::filesystem::create_directories(landing, ec);
  if (ec) {
    std::string message =
        fmt::format("cannot create landing directory {}: {}", landing.string(), ec.message());
    return ec == std::errc::no_space_on_device ? Error::Retryable(std::move(message))
                                               : Error::Permanent(std::move(message));
  }

  const bool endless = options.rate > 0 && options.rows == 0;
  const bool more_rows_wanted = endless || options.rows > 0;
  LandingFileWriter writer(landing, prefix);
  ProgressBar progress(options.progress && isatty(STDERR_FILENO) == 1, endless ? 0 : options.rows);
  Pacer pacer(options.rate);
  GenerateStats stats;

  bool stopping = !more_rows_wanted;
  while (!stopping && (endless || stats.rows < options.rows)) {
    DIMSTREAM_TRY(writer.Open());
    DIMSTREAM_TRY(writer.Append(header));
    uint64_t in_file = 0;
    while (in_file < options.rows_per_file && (endless || stats.rows < options.rows)) {
      if (!pacer.WaitTurn(stop)) {
        stopping = true;
        break;
      }
      Result<StreamRow> row = next();
      if (!row.ok()) {
        // The stream cannot go on (its sequence ran out of values): nothing half-done stays behind.
        writer.Discard();
        progress.Finish();
        return row.error();
      }
      DIMSTREAM_TRY(writer.Append(row->line));
      ++in_file;
      ++stats.rows;
      if (row->kind == RowKind::kBad) {
        ++stats.bad_rows;
      }
      progress.Update(stats.rows);
    }
    if (in_file == 0) {
      // Stopped before the first row: an empty file would only be noise for the loader.
      writer.Discard();
      break;
    }
    // Published even when stopped half-way: every row counted in the stats is then on disk.
    Result<std::filesystem::path> path = writer.Publish();
    if (!path.ok()) {
      return path.error();
    }
    ++stats.files;
    spdlog::debug("generator: wrote {} ({} rows)", path->string(), in_file);
    if (on_file) {
      on_file(*path, stats);
    }
  }
  progress.Finish();
  return stats;
}

}  // namespace dimstream
