// Property-based tests of SEMANTICS.md sections 1, 2, 4 and 5 for declared entities of random shapes, run
// through the real loader, the real merge and a real DuckDB file, or a PostgreSQL database when built as
// merge_entity_property_postgres_test (property_test.cpp does the same for the built-in customer entity).
//
// Each case draws an entity (entity_shapes.h), random records over 1-6 keys (entity_records.h), and writes
// them as CSV files with every value in one of the spellings its type allows (entity_spellings.h), plus
// rows broken on purpose (entity_broken_rows.h) and files rejected whole (entity_files.h); the files are
// loaded in order through the real Loader and merged after a random subset of the loads, with idle runs
// and merge restarts in between (property_pipeline.h). Then:
//   ReferenceFold      history and current equal a reference fold from SEMANTICS.md sections 4-5
//                      (entity_reference.h) on values by their typed meaning (rows of files without the
//                      single timestamp sequence, and every row when there is no sequence, take their
//                      load's sequence_time from load_history); CheckInvariants finds nothing; Rebuild
//                      changes nothing; load_history counts and the rejects table are what section 2 says.
//   BatchingIrrelevant the same records split and merged two different ways give identical tables (and
//                      both are the reference fold).
// Tables are compared as typed values normalized in SQL (epoch_us for timestamps, days for dates, decimals
// at their scale, doubles at six decimals, NUL shown as a mark) against values the reference writes in the
// same form with its own code (entity_values.h): nothing here parses or orders values with the product's
// functions. A failure prints the seed, the entity as a behaviour case's [entity] section and, when small,
// the files.
//
// The environment selects the cases as for property_test.cpp (DIMSTREAM_PROPERTY_CASES, _SEED, _BASE_SEED,
// _DIR: see property_support.h); the defaults are kReferenceCases and kBatchingCases, and the sanitizer run
// (scripts/sanitize.sh) sets DIMSTREAM_PROPERTY_CASES from SANITIZE_PROPERTY_CASES.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "merge/tests/entity_coverage.h"
#include "merge/tests/entity_files.h"
#include "merge/tests/entity_records.h"
#include "merge/tests/entity_reference.h"
#include "merge/tests/entity_spellings.h"
#include "merge/tests/entity_values.h"
#include "merge/tests/property_pipeline.h"
#include "merge/tests/property_support.h"
#include "warehouse/sql.h"

namespace dimstream::property::declared {
namespace {

// Sized for about 60-120 s in all on a 2-core machine (see the timing printed at the end of each test). On
// PostgreSQL (merge_entity_property_postgres_test) the first cases of the same seeds, each run in a database
// of its own, sized for about 150 s: the DuckDB counts took 240 s there.
constexpr uint64_t kReferenceCases = kOnPostgres ? 160 : 300;
constexpr uint64_t kBatchingCases = kOnPostgres ? 60 : 80;
constexpr const char* kBinary =
    kOnPostgres ? "merge_entity_property_postgres_test" : "merge_entity_property_test";
constexpr Suite kSuite = {
    kBinary, "EntityProperty", 0xe4717e5eed5ULL, "dimstream_entity_property_", spdlog::level::err, kBuiltFor};

// ---------------------------------------------------------------------------------------------------------
// Running a plan through the real pipeline (see property_pipeline.h).

// The queries that read history and current as Canon writes values.
TableQueries Queries(const Shape& shape) {
  std::string cols;
  auto add = [&](const std::string& name, const Type& t) {
    cols += (cols.empty() ? "" : ", ") + Norm(name, t, kSuite.engine);
  };
  for (const Column& k : shape.keys) {
    add(k.name, k.type);
  }
  for (size_t a = 0; a < shape.attrs(); ++a) {
    add(shape.attr(a).name, shape.attr(a).type);
  }
  std::vector<Type> types = shape.seq_types();
  auto seq_cols = [&](const std::string& first, const std::string& prefix) {
    std::string out;
    for (size_t i = 0; i < types.size(); ++i) {
      out += ", " + Norm(i == 0 ? first : prefix + shape.seq[i].name, types[i], kSuite.engine);
    }
    return out;
  };
  std::string history = "SELECT " + cols + seq_cols("valid_from", "valid_from_") +
                        seq_cols("valid_to", "valid_to_") + ", CAST(is_current AS VARCHAR) FROM " +
                        QuoteIdent(shape.name + "_history");
  std::string current = "SELECT " + cols + seq_cols("valid_from", "valid_from_") + " FROM " +
                        QuoteIdent(shape.name + "_current");
  return {history, current, /*sort=*/true};
}

RunOutcome Execute(const Case& c, Plan& plan, const fs::path& dir, bool rebuild = false) {
  RunOutcome out;
  EntitySpec entity = c.shape.Spec();
  if (Status valid = entity.Validate(); !valid.ok()) {
    out.error = "the generated entity is invalid (a bug of the test): " + valid.error().message;
    return out;
  }
  MergeOptions merge_options;
  SetCompaction(plan.compaction, merge_options);
  if (plan.snapshot) {
    merge_options.index_snapshot = dir / "w.keys";
  }
  Pipeline pipeline(dir, entity, kSuite.engine, merge_options);
  if (!pipeline.error().empty()) {
    out.error = pipeline.error();
    return out;
  }
  std::vector<ExpectedLoad> expected;
  for (const FilePlan& f : plan.files) {
    expected.push_back({f.name, !f.failed.empty(), f.failed, f.rows.size(), f.rejects});
  }
  const TableQueries queries = Queries(c.shape);
  auto run = [&]() -> std::string {
    for (size_t i = 0; i < plan.files.size(); ++i) {
      FilePlan& f = plan.files[i];
      if (f.restart_before) {
        pipeline.RestartMerge();
      }
      std::string error = pipeline.Load(expected[i], f.content, SpellTimestamp, out.notes);
      if (error.empty() && f.merge_after) {
        error = pipeline.Merge(f.name);
      }
      if (!error.empty()) {
        return error;
      }
      if (f.idle_after) {
        auto m = pipeline.merge().RunOnce();
        if (!m.ok() || m->rows_in != 0) {
          return "the idle merge after " + f.name + " failed or merged rows";
        }
      }
    }
    return pipeline.Check(expected, queries, rebuild ? RebuildCheck::kTablesAndReport : RebuildCheck::kNone,
                          out);
  };
  out.error = run();
  return out;
}

// The history table's columns, for the heading of a difference.
std::string Columns(const Shape& shape) {
  std::string s;
  for (const Column& k : shape.keys) {
    s += (s.empty() ? "" : ", ") + k.name;
  }
  for (size_t a = 0; a < shape.attrs(); ++a) {
    s += ", " + shape.attr(a).name;
  }
  std::string from = "valid_from";
  std::string to = "valid_to";
  for (size_t i = 1; i < shape.seq.size(); ++i) {
    from += ", valid_from_" + shape.seq[i].name;
    to += ", valid_to_" + shape.seq[i].name;
  }
  return s + ", " + from + " | " + to + ", is_current";
}

// RunFailures, naming the entity's tables.
std::string Failures(const Case& c, const RunOutcome& run, const Tables& want, const std::string& label) {
  return RunFailures(run, want, label, c.shape.name + "_history (" + Columns(c.shape) + ")",
                     c.shape.name + "_current");
}

// Property 1: the dimension equals the reference fold of the loaded records.
std::string ReferenceFoldCase(uint64_t seed, const fs::path& dir, Tally& tally) {
  Rng rng(seed);
  Case c = MakeCase(rng);
  PlanOptions options;
  options.no_seq_file_chance = c.shape.falls_back() && rng.Chance(0.4) ? 0.3 : 0.0;
  options.drop_non_null_columns = rng.Chance(0.3);
  options.merge_chance = static_cast<double>(rng.Below(101)) / 100.0;
  options.load_time_tie_chance = c.shape.falls_back() && rng.Chance(0.5) ? 0.25 : 0.0;
  options.bad_row_chance = rng.Chance(0.4) ? 0.12 : 0.0;
  options.failed_file_chance = rng.Chance(0.15) ? 0.2 : 0.0;
  options.extra_column_chance = 0.1;
  Plan plan = MakePlan(rng, c, options, "f");
  tally.records += c.records.size();
  RunOutcome run = Execute(c, plan, dir, /*rebuild=*/true);
  std::string problems;
  if (run.error.empty()) {
    std::set<std::string> features;
    Tables want = ReferenceFold(c, plan.files, run.load_sequence, &features);
    PlanFeatures(c, plan.files, run.load_sequence, features);
    tally.Count(features);
    problems = Failures(c, run, want, "");
  } else {
    problems = "pipeline error: " + run.error + "\n";
  }
  if (problems.empty()) {
    return {};
  }
  return DescribeCase(c) + plan.Describe(TotalBytes(plan.files) < 8000) +
         DescribeLoadSequence(run.load_sequence) + problems;
}

// Property 2: the same records, split into files and merged in two different ways, give identical tables.
std::string BatchingIrrelevantCase(uint64_t seed, const fs::path& dir, Tally&) {
  Rng rng(seed);
  Case c;
  // With no sequence the files' commits are the sequence, so how records are split into files matters
  // there by definition: draw until the entity has a sequence.
  do {
    c = MakeCase(rng);
  } while (c.shape.seq.empty());
  PlanOptions options;  // every file has the sequence and leaves out only columns that hold nothing
  options.extra_column_chance = 0.1;
  options.bad_row_chance = rng.Chance(0.3) ? 0.1 : 0.0;
  options.merge_chance = static_cast<double>(rng.Below(101)) / 100.0;
  Plan a = MakePlan(rng, c, options, "a");
  options.merge_chance = static_cast<double>(rng.Below(101)) / 100.0;
  Plan b = MakePlan(rng, c, options, "b");
  RunOutcome ra = Execute(c, a, dir);
  RunOutcome rb = Execute(c, b, dir);
  std::string problems;
  if (!ra.error.empty() || !rb.error.empty()) {
    problems = "pipeline error: " + ra.error + " / " + rb.error + "\n";
  } else {
    problems += DescribeDiff(c.shape.name + "_history of split A (expected) vs split B (actual)",
                             ra.tables.history, rb.tables.history);
    problems += DescribeDiff(c.shape.name + "_current of split A (expected) vs split B (actual)",
                             ra.tables.current, rb.tables.current);
    // Both must also be the reference fold (every file has the sequence, so it needs no load times).
    Tables want = ReferenceFold(c, a.files, {});
    problems += Failures(c, ra, want, "split A: ");
    problems += Failures(c, rb, want, "split B: ");
  }
  if (problems.empty()) {
    return {};
  }
  bool small = TotalBytes(a.files) + TotalBytes(b.files) < 12000;
  return DescribeCase(c) + "split A:\n" + a.Describe(small) + "split B:\n" + b.Describe(small) + problems;
}

TEST(EntityProperty, ReferenceFold) {
  RunProperty(kSuite, "ReferenceFold", 0x1, kReferenceCases, Summary::kCoverage, ReferenceFoldCase);
}

TEST(EntityProperty, BatchingIrrelevant) {
  RunProperty(kSuite, "BatchingIrrelevant", 0x2, kBatchingCases, Summary::kCases, BatchingIrrelevantCase);
}

}  // namespace
}  // namespace dimstream::property::declared
