// The entity property test's file plans: a case's records split into CSV files at random (shuffled and
// re-cased headers, a BOM, columns left out, unknown columns, CRLF or LF, every value in one of its
// spellings), with rows broken on purpose and files rejected whole (empty, no key column, no sequence column
// where there is no fallback), merges after a random subset of the loads, idle merge runs (which save the
// key index snapshot) and merge restarts; and, for each file, what the loader should accept and reject.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "merge/tests/entity_records.h"
#include "merge/tests/property_csv.h"
#include "merge/tests/property_support.h"

namespace dimstream::property::declared {

// One accepted record as the loader should see it: the reference fold's input.
struct Effective {
  int key = -1;  // -1: a truncate
  Op op = Op::kUpsert;
  std::vector<Cell> attrs;         // what the file gives (NULL where it leaves a column out)
  std::vector<std::string> spelt;  // the attributes as written, for coverage
  std::string key_spelt;
  std::optional<std::vector<Val>> seq;  // nullopt: the file has no sequence, its load's commit time is
  // The sequence was written as the load commit time (sequence_time) of this earlier file without the
  // sequence, known only once it is loaded: a tie between an event time and a load time.
  std::optional<size_t> seq_from_file;
  size_t file = 0;
  size_t row = 0;
};

struct FilePlan {
  std::string name;
  std::string content;
  bool has_seq = true;
  bool merge_after = false;
  bool restart_before = false;   // a new MergeJob (a restart) before this file's load
  bool idle_after = false;       // after the merge, an idle run: it checkpoints and saves the key index
  std::string failed;            // why the file is rejected whole (SEMANTICS.md section 2), empty: it loads
  bool values_left_out = false;  // a column holding values (or deletes) left out: they load as NULL (upsert)
  bool bom = false;
  bool crlf = false;
  bool key_garbage = false;          // a truncate with a key that is no value of the key's type
  std::vector<std::string> columns;  // as in the header, in order (declared spelling)
  std::vector<Effective> rows;       // what the loader should accept, in file order
  std::vector<ExpectedReject> rejects;
};

struct Plan {
  std::vector<FilePlan> files;
  bool snapshot = false;  // the merge keeps a key index snapshot (MergeOptions::index_snapshot)
  Compaction compaction = Compaction::kIdle;

  // The loads and merges, and with `with_content` the files, as a behaviour case takes them.
  std::string Describe(bool with_content) const;
};

struct PlanOptions {
  double no_seq_file_chance = 0.0;  // a file without the sequence (single timestamp or none only)
  double failed_file_chance = 0.0;  // a file rejected whole
  bool drop_non_null_columns = false;
  double merge_chance = 0.5;
  double load_time_tie_chance = 0.0;  // a row's sequence is the sequence_time of an earlier file without it
  double bad_row_chance = 0.0;
  double extra_column_chance = 0.1;
  double restart_chance = 0.1;
};

// Splits `c.records` into files in record order and writes them. With drop_non_null_columns false, a file
// only leaves out a column that is NULL (or, for the operation, an upsert) in every one of its rows, so the
// loaded records are exactly the records.
Plan MakePlan(Rng& rng, const Case& c, const PlanOptions& options, const std::string& prefix);

}  // namespace dimstream::property::declared
