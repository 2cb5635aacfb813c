// The behaviour cases (cases/*.case, described in behaviour_test.cpp) on PostgreSQL: the same files through
// the same loader and merge, each case in a database of its own on the test server, give the same tables.
#include <gtest/gtest.h>

#include "merge/tests/behaviour_case.h"

namespace dimstream {
namespace {

class BehaviourPostgresTest : public ::testing::TestWithParam<std::filesystem::path> {};

TEST_P(BehaviourPostgresTest, MatchesExpectedTables) {
  auto behaviour = ReadCase(GetParam());
  ASSERT_TRUE(behaviour.ok()) << behaviour.error().message;
  RunCase(*behaviour, CaseFormat::kCsv, CaseWarehouse::kPostgres);
}

INSTANTIATE_TEST_SUITE_P(Cases, BehaviourPostgresTest, ::testing::ValuesIn(CasePaths()),
                         [](const auto& p) { return p.param.stem().string(); });

}  // namespace
}  // namespace dimstream
