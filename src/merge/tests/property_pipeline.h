// Running a property case's files through the real pipeline (LocalObjectStore, Loader, MergeJob, a DuckDB
// file or a PostgreSQL database), for both property tests, and checking what it records against what the case
// expects: the load outcome and load_history row of each file, the rejects table (SEMANTICS.md section 2),
// CheckInvariants, and that Rebuild changes nothing. What the dimension tables must hold is each test's own
// reference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/types.h"
#include "config/entity.h"
#include "loader/loader.h"
#include "merge/merge.h"
#include "merge/tests/property_csv.h"
#include "merge/tests/property_support.h"
#include "object_store/local_object_store.h"
#include "warehouse/tests/pg_test_database.h"
#include "warehouse/warehouse.h"

namespace dimstream::property {

// A field whose value is a load commit time (the sequence_time of earlier file `file` of the plan), known
// only once that file is loaded: Pipeline::Load writes it, spelled from `format_seed`.
std::string LoadTimePlaceholder(size_t file, uint64_t format_seed);

// How a load commit time is spelled in place of a placeholder.
using SpellTime = std::string (*)(Rng& rng, Micros utc);

// The merge options of a compaction mode (property_support.h).
void SetCompaction(Compaction mode, MergeOptions& options);

// What loading one file must do and record (SEMANTICS.md section 2).
struct ExpectedLoad {
  std::string name;
  bool failed = false;     // the file is rejected whole
  std::string failed_why;  // why, for a failure message (may be empty)
  size_t rows = 0;         // rows loaded
  std::vector<ExpectedReject> rejects;
};

// The queries that read a dimension's history and current tables.
struct TableQueries {
  std::string history;
  std::string current;
  bool sort = false;  // the rows are sorted here, as text (the queries have no ORDER BY)
};

// What one run of a case's files produced.
struct RunOutcome {
  std::string error;  // a failure of the pipeline itself (not a wrong table)
  Tables tables;
  std::map<std::string, Micros> load_sequence;  // object key -> load_history.sequence_time
  std::vector<std::string> check_failures;
  std::vector<std::string> notes;  // other contract violations (rejects, load status, rebuild)
};

enum class RebuildCheck {
  kNone,             // no Rebuild
  kTables,           // Rebuild leaves the tables as they were
  kTablesAndReport,  // and reports no version opened or closed and no SCD1 update
};

// The store, warehouse, loader and merge job of one run of a case, in a fresh directory (and, on PostgreSQL,
// a fresh database) that goes with it.
// A test's Execute makes one per run and calls it from the test's thread: Load each file in the plan's
// order (merging where the plan says), then Check.
class Pipeline {
 public:
  // Empties `dir` and opens the warehouse for `entity` on `engine` (a DuckDB file in `dir`, or a database
  // created for the run); error() says when that failed. The delta's compaction settings of `merge_options`
  // are DuckDB's: PostgreSQL has no delta.
  Pipeline(const fs::path& dir, const EntitySpec& entity, Engine engine,
           const MergeOptions& merge_options = {});
  ~Pipeline();  // closes the warehouse, drops its database and removes the directory
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  const std::string& error() const { return error_; }
  Warehouse& warehouse() { return *warehouse_; }
  MergeJob& merge() { return *merge_; }

  // Replaces the placeholders in `content` (LoadTimePlaceholder) by the load times they stand for, spelled
  // by `spell`, writes it to the bucket as `file.name` and loads it, noting in `notes` an outcome other
  // than `file` says. Returns a failure of the pipeline, else empty.
  std::string Load(const ExpectedLoad& file, std::string& content, SpellTime spell,
                   std::vector<std::string>& notes);
  // One merge run after loading file `name`; returns a failure of the pipeline, else empty.
  std::string Merge(const std::string& name);
  // A new MergeJob, as after a restart of the merge.
  void RestartMerge();

  // After the loads: notes where load_history and the rejects table differ from `files` (every file of
  // the plan, in load order), records each file's sequence_time in out.load_sequence, reads history and
  // current into out.tables, runs CheckInvariants and, as `rebuild` says, Rebuild (`dimstream rebuild`:
  // every key recomputed from the retained log), which must give the same tables. Returns a failure of
  // the pipeline, else empty.
  std::string Check(const std::vector<ExpectedLoad>& files, const TableQueries& queries, RebuildCheck rebuild,
                    RunOutcome& out);

 private:
  std::string CheckLoadHistory(const std::vector<ExpectedLoad>& files, RunOutcome& out);
  std::string CheckRejects(const std::vector<ExpectedLoad>& files, std::vector<std::string>& notes);
  std::string ReadTables(const TableQueries& queries, RunOutcome& out);
  std::string CheckRebuild(const TableQueries& queries, RebuildCheck check, RunOutcome& out);

  fs::path dir_;
  EntitySpec entity_;
  Engine engine_;
  MergeOptions merge_options_;
  std::unique_ptr<LocalObjectStore> store_;
  pg::testing::TestDatabase database_;  // on PostgreSQL
  std::unique_ptr<Warehouse> warehouse_;
  std::unique_ptr<Loader> loader_;
  std::unique_ptr<MergeJob> merge_;
  std::vector<std::string> loaded_;  // the files loaded so far, in order: what placeholders name
  std::string error_;
};

// Each file's sequence_time, one line each, for a failure message.
std::string DescribeLoadSequence(const std::map<std::string, Micros>& load_sequence);

// What is wrong with `run` against the reference tables `want`, one line (or difference) each, prefixed by
// `label`; `history` and `current` name the tables in the differences.
std::string RunFailures(const RunOutcome& run, const Tables& want, const std::string& label,
                        const std::string& history, const std::string& current);

}  // namespace dimstream::property
