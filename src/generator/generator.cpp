#include "generator/generator.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "common/clock.h"
#include "generator/change_stream.h"
#include "generator/landing_loop.h"

namespace dimstream {
namespace {

constexpr uint64_t kMaxKey = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

Status CheckShare(const char* flag, double value) {
  if (!(value >= 0.0 && value <= 1.0)) {
    return Error::Invalid(fmt::format("{} is {}; it must be between 0 and 1", flag, value));
  }
  return Ok();
}

}  // namespace

void AddGenerateFlags(CLI::App& app, GenerateOptions& options) {
  const std::string group = "Generator";
  const auto share = CLI::Range(0.0, 1.0);
  // CLI11 reads "-5" into an unsigned option as a huge number; refuse the sign before the conversion.
  const auto& unsigned_number = CLI::NonNegativeNumber;
  app.add_option("--seed", options.seed,
                 "Seed of the random stream: the same seed and flags write the same rows")
      ->check(unsigned_number)
      ->capture_default_str()
      ->group(group);
  app.add_option("--rows", options.rows, "Rows to write in all; with --rate, 0 streams until stopped")
      ->check(unsigned_number)
      ->capture_default_str()
      ->group(group);
  app.add_option("--rows-per-file", options.rows_per_file, "Rows in each file")
      ->check(unsigned_number)
      ->check(CLI::Range(uint64_t{1}, std::numeric_limits<uint64_t>::max()))
      ->capture_default_str()
      ->group(group);
  app.add_option("--key-space", options.key_space,
                 "Number of distinct keys; once all exist, new-key rows become updates (0: no limit)")
      ->check(unsigned_number)
      ->capture_default_str()
      ->group(group);
  app.add_option("--first-key", options.first_key,
                 "First key (customer_id, or a declared integer-like key); new keys count up from it")
      ->check(unsigned_number)
      ->check(CLI::Range(uint64_t{0}, kMaxKey))
      ->capture_default_str()
      ->group(group);
  app.add_option("--update-share", options.update_share, "Share of rows that update an existing key (0..1)")
      ->check(share)
      ->capture_default_str()
      ->group(group);
  app.add_option("--scd2-share", options.scd2_share,
                 "Of the updates, the share that change an SCD2 attribute (customers: the address); the rest "
                 "change SCD1 ones only")
      ->check(share)
      ->capture_default_str()
      ->group(group);
  app.add_option("--duplicate-share", options.duplicate_share,
                 "Share of rows that repeat an earlier row exactly, sequence included")
      ->check(share)
      ->capture_default_str()
      ->group(group);
  app.add_option("--delete-share", options.delete_share,
                 "Share of rows that delete an existing key (op D, or a declared delete value); for "
                 "customers implies --with-op")
      ->check(share)
      ->capture_default_str()
      ->group(group);
  app.add_option("--late-share", options.late_share,
                 "Share of rows whose sequence is before their key's previous record; for customers implies "
                 "--event-time")
      ->check(share)
      ->capture_default_str()
      ->group(group);
  app.add_option("--truncate-share", options.truncate_share,
                 "Share of rows that are truncate records (entities with truncate_values only): the key "
                 "columns empty, a sequence after every earlier row")
      ->check(share)
      ->capture_default_str()
      ->group(group);
  app.add_option("--bad-share", options.bad_share,
                 "Share of malformed rows (field count, key, a value not of its type, sequence, operation, "
                 "UTF-8) the loader must reject")
      ->check(share)
      ->capture_default_str()
      ->group(group);
  app.add_option("--null-share", options.null_share, "Share of attribute fields left empty (NULL)")
      ->check(share)
      ->capture_default_str()
      ->group(group);
  app.add_flag("--event-time", options.event_time,
               "Customers: write an updated_at column (event time); a declared entity writes its own columns")
      ->group(group);
  app.add_flag("--with-op", options.with_op, "Customers: write an op column (I, U or D)")->group(group);
  app.add_option("--rate", options.rate, "Rows per second; 0: as fast as possible")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str()
      ->group(group);
  app.add_option("--start-time", options.start_time,
                 "Event time of the first row (ISO-8601); later rows follow about a second apart")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            return ParseTimestamp(value) ? std::string() : "not an ISO-8601 timestamp: " + value;
          },
          "TIMESTAMP"))
      ->capture_default_str()
      ->group(group);
  app.add_flag_callback(
         "--no-progress", [&options] { options.progress = false; },
         "Do not draw a progress bar (it is drawn only when stderr is a terminal)")
      ->group(group);
}

Status ValidateGenerateOptions(const GenerateOptions& o) {
  if (o.rows_per_file == 0) {
    return Error::Invalid("--rows-per-file is 0; a file needs at least one row");
  }
  DIMSTREAM_TRY(CheckShare("--update-share", o.update_share));
  DIMSTREAM_TRY(CheckShare("--scd2-share", o.scd2_share));
  DIMSTREAM_TRY(CheckShare("--duplicate-share", o.duplicate_share));
  DIMSTREAM_TRY(CheckShare("--delete-share", o.delete_share));
  DIMSTREAM_TRY(CheckShare("--late-share", o.late_share));
  DIMSTREAM_TRY(CheckShare("--truncate-share", o.truncate_share));
  DIMSTREAM_TRY(CheckShare("--bad-share", o.bad_share));
  DIMSTREAM_TRY(CheckShare("--null-share", o.null_share));
  const double sum =
      o.update_share + o.duplicate_share + o.delete_share + o.late_share + o.truncate_share + o.bad_share;
  if (sum > 1.0 + 1e-9) {
    return Error::Invalid(fmt::format(
        "--update-share, --duplicate-share, --delete-share, --late-share, --truncate-share and --bad-share "
        "add up to {}; they are shares of all rows and may add up to at most 1 (the rest are new keys)",
        sum));
  }
  if (!(o.rate >= 0.0) || !std::isfinite(o.rate)) {
    return Error::Invalid(fmt::format("--rate is {}; it must be 0 (as fast as possible) or more", o.rate));
  }
  if (!ParseTimestamp(o.start_time)) {
    return Error::Invalid(fmt::format("--start-time '{}' is not an ISO-8601 timestamp", o.start_time));
  }
  if (o.first_key > kMaxKey) {
    return Error::Invalid(
        fmt::format("--first-key {} does not fit in a 64-bit signed customer_id", o.first_key));
  }
  if (o.key_space > kMaxKey - o.first_key + 1) {
    return Error::Invalid(
        fmt::format("--first-key {} with --key-space {} goes past the largest customer_id {}", o.first_key,
                    o.key_space, kMaxKey));
  }
  return Ok();
}

Result<GenerateStats> Generate(
    const GenerateOptions& options, const std::filesystem::path& landing, const StopSignal& stop,
    const std::function<void(const std::filesystem::path&, const GenerateStats&)>& on_file) {
  DIMSTREAM_TRY(ValidateGenerateOptions(options));
  if (options.truncate_share > 0) {
    return Error::Invalid(fmt::format(
        "--truncate-share is {}; the built-in customer entity has no truncate values (declare an entity "
        "with truncate_values and generate it with --entity)",
        options.truncate_share));
  }
  ChangeStream stream(options, *ParseTimestamp(options.start_time));
  if (stream.writes_event_time() != options.event_time || stream.writes_op() != options.with_op) {
    spdlog::debug("generator: writing{}{} because deletes or late rows were asked for",
                  stream.writes_event_time() ? " updated_at" : "", stream.writes_op() ? " op" : "");
  }
  return WriteLandingFiles(
      options, landing, "customer", stream.Header(),
      [&stream]() -> Result<StreamRow> { return stream.Next(); }, stop, on_file);
}

}  // namespace dimstream
