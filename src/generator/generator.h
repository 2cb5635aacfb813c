#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "common/error.h"
#include "common/stop.h"

namespace CLI {
class App;
}  // namespace CLI

// Role 1 of SEED.md: the fake customer source. Writes CSV files in the seed's format into the landing
// directory, deterministically from a seed, at a chosen rate, with the updates, duplicates, deletes, late
// and malformed rows a real source produces. The CLI's `generate` and `run --generate` call it.
namespace dimstream {

struct GenerateOptions {
  uint64_t seed = 42;
  uint64_t rows = 10000;  // total rows to write (ignored when rate > 0 and rows == 0: stream without end)
  uint64_t rows_per_file = 10000;
  uint64_t key_space = 0;  // keys are drawn from [first_key, first_key+key_space); 0 = as many as needed
  uint64_t first_key = 0;
  double update_share = 0.0;     // share of rows that update an existing key (0..1)
  double scd2_share = 0.5;       // of the updates: share that change the address (SCD2); the rest change
                                 // name/email (SCD1)
  double duplicate_share = 0.0;  // share of rows that are exact duplicates of an earlier row (same values,
                                 // same updated_at)
  double delete_share = 0.0;     // share of rows that are op=D on an existing key
  double late_share = 0.0;       // share of rows whose updated_at is earlier than that key's previous record
  double truncate_share = 0.0;   // share of rows that are truncate records (declared entities with
                                 // truncate_values only; the built-in customer entity has none)
  double bad_share = 0.0;   // share of malformed rows (wrong field count, non-integer key, bad updated_at,
                            // bad op, invalid UTF-8)
  double null_share = 0.0;  // share of attribute fields left empty (NULL)
  bool event_time = false;  // write an updated_at column (forced on when late_share > 0)
  bool with_op = false;     // write an op column (forced on when delete_share > 0)
  double rate = 0;          // rows per second; 0 = as fast as possible
  std::string start_time = "2025-01-01T00:00:00Z";  // event time of the first row; increases by a
                                                    // deterministic step
  bool progress = true;                             // progress bar on stderr when it is a terminal
};

// Adds the generate flags (--seed, --rows, --rows-per-file, --key-space, --first-key, --update-share,
// --scd2-share, --duplicate-share, --delete-share, --late-share, --truncate-share, --bad-share, --null-share,
// --event-time, --with-op, --rate, --start-time, --no-progress) with help text and range validation to
// `app`; used by both `generate` and `run --generate`. What one flag cannot check alone (the shares adding up
// to more than 1) is checked by ValidateGenerateOptions, which Generate calls first.
void AddGenerateFlags(CLI::App& app, GenerateOptions& options);

// Checks `options` without touching anything: kInvalidInput naming the flag when one is out of range,
// the shares add up to more than 1, or --start-time does not parse.
Status ValidateGenerateOptions(const GenerateOptions& options);

struct GenerateStats {
  uint64_t rows = 0;
  uint64_t files = 0;
  uint64_t bad_rows = 0;
};

// Writes customer files into `landing` until `options.rows` are written or `stop` is requested.
// Calls on_file after each file appears (may be empty).
//
// Files are named customer_<UTC wall-clock YYYYMMDDHHMMSS>_<n>.csv, n counting files in this run from
// 000001, and appear atomically (written as .customer_*.tmp, fsync'd, renamed without replacing anything).
// Their content depends on `options` alone, never on the clock or on where files are split. On a stop
// request the file being written is published with the rows it has, so every counted row is on disk.
// Creates `landing` if needed. Errors: kInvalidInput for bad options (--truncate-share above 0 among
// them: customers have no truncate values), kRetryable for a full disk, kPermanent for other I/O failures.
// Runs on the caller's thread. GenerateEntity (entity_generator.h) does the same for a declared entity.
Result<GenerateStats> Generate(
    const GenerateOptions& options, const std::filesystem::path& landing, const StopSignal& stop,
    const std::function<void(const std::filesystem::path&, const GenerateStats&)>& on_file);

}  // namespace dimstream
