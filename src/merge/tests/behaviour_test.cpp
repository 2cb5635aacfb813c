// Runs every behaviour case in cases/ through the real loader, merge and a DuckDB file: as written (CSV),
// and with its CSV files converted to each other format the loader reads (SEMANTICS.md section 1), which
// must give the same dimension.
//
// A case file is plain text in sections:
//   --- file NAME      CSV content put into the bucket as object NAME and loaded (in file order)
//   --- merge          one merge run
//   --- history        the expected customer_history rows (CSV; only the columns named in the header are
//   --- current        compared, rows in key, valid_from order); "@NAME" stands for the load commit time
//   --- rejects        of object NAME, the sequence of its rows when the file has no updated_at column
//                      (rejects: rows in object_key, line order)
//   --- retention DAYS the following merge runs keep DAYS of log (merge.log_retention_days)
//   --- entity         (first, optional) the entity as a configuration declares it: an [entity] table in
//                      TOML; without it, the built-in customer entity
//   --- key_id_bits N  (optional) keep N bits of each key id, so that keys collide in the key index
// Lines starting with '#' before the first section describe the case.
#include <gtest/gtest.h>

#include <tuple>

#include "merge/tests/behaviour_case.h"

namespace dimstream {
namespace {

class BehaviourTest : public ::testing::TestWithParam<std::filesystem::path> {};

TEST_P(BehaviourTest, MatchesExpectedTables) {
  auto behaviour = ReadCase(GetParam());
  ASSERT_TRUE(behaviour.ok()) << behaviour.error().message;
  RunCase(*behaviour, CaseFormat::kCsv);
}

INSTANTIATE_TEST_SUITE_P(Cases, BehaviourTest, ::testing::ValuesIn(CasePaths()),
                         [](const auto& p) { return p.param.stem().string(); });

// The same records as CSV.gz, CSV.zst, JSON lines and Parquet (each file NAME.csv stored as NAME.csv.gz,
// NAME.jsonl, ...) give the same history and current tables.
class BehaviourFormatTest : public ::testing::TestWithParam<std::tuple<std::filesystem::path, CaseFormat>> {};

TEST_P(BehaviourFormatTest, MatchesExpectedTables) {
  const auto& [path, format] = GetParam();
  auto behaviour = ReadCase(path);
  ASSERT_TRUE(behaviour.ok()) << behaviour.error().message;
  if (auto why = WhyNotIn(format, behaviour->files(), behaviour->entity)) {
    GTEST_SKIP() << path.filename().string() << " not run as " << CaseFormatName(format) << ": " << *why;
  }
  RunCase(*behaviour, format);
}

INSTANTIATE_TEST_SUITE_P(Cases, BehaviourFormatTest,
                         ::testing::Combine(::testing::ValuesIn(CasePaths()),
                                            ::testing::Values(CaseFormat::kCsvGz, CaseFormat::kCsvZst,
                                                              CaseFormat::kJsonLines, CaseFormat::kParquet)),
                         [](const auto& p) {
                           return std::get<0>(p.param).stem().string() + "_" +
                                  std::string(CaseFormatName(std::get<1>(p.param)));
                         });

}  // namespace
}  // namespace dimstream
