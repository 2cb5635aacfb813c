// `dimstream check` finds each broken invariant: a dimension merged by the real loader and merge, then
// broken by hand one way at a time, for a single and a composite key.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <tuple>

#include "common/testing/test_dir.h"
#include "loader/loader.h"
#include "merge/check.h"
#include "merge/merge.h"
#include "object_store/local_object_store.h"
#include "warehouse/duckdb/duckdb_warehouse.h"

namespace dimstream {
namespace {

// With merge on read (the default SCD1 scope), history's open versions are read from current's table, so
// the two cannot disagree; with SCD1 values on all versions each table holds its own copy.
EntitySpec Items(std::vector<std::string> keys, bool merge_on_read) {
  EntitySpec e;
  if (!merge_on_read) {
    e.scd1_scope = Scd1Scope::kAllVersions;
  }
  e.name = "item";
  e.key_columns = std::move(keys);
  e.scd1_columns = {"label"};
  e.scd2_columns = {"color"};
  e.sequence_columns = {"n"};
  e.types = {{"n", ColumnType::Bigint()}};
  e.file_pattern = "*";
  return e;
}

struct Breakage {
  const char* sql;        // run on a sound dimension
  const char* invariant;  // the start of the one failure expected
  bool merge_on_read = false;
};

// Each breaks key (a, 1) only; the dimension holds (a, 1) with two versions and (b, 2) with one, compacted:
// the views item_current and item_history read the base tables alone (with merge on read, history's base
// table holds a's closed version only).
const Breakage kBreakages[] = {
    {"UPDATE item_current_base SET label = 'other' WHERE code = 'a'",
     "item_current differs from the open versions"},
    {"UPDATE item_current_base SET label = NULL WHERE code = 'a'",
     "item_current differs from the open versions"},
    {"UPDATE item_current_base SET valid_from = valid_from + 1 WHERE code = 'a'",
     "item_current differs from the open versions"},
    {"DELETE FROM item_current_base WHERE code = 'a'", "item_current differs from the open versions"},
    {"INSERT INTO item_current_base SELECT * FROM item_current_base WHERE code = 'a'",
     "item_current holds a key more than"},
    {"UPDATE item_history_base SET valid_to = valid_from + 1, is_current = false "
     "WHERE code = 'a' AND is_current",
     "item_current differs from the open versions"},
    {"UPDATE item_history_base SET is_current = false WHERE code = 'a' AND is_current",
     "is_current disagrees"},
    {"UPDATE item_history_base SET is_current = true, valid_to = NULL WHERE code = 'a'",
     "more than one current version"},
    {"UPDATE item_history_base SET valid_to = valid_from - 1 WHERE code = 'a' AND NOT is_current",
     "a version ends before it starts"},
    {"UPDATE item_history_base SET valid_to = valid_to + 1 WHERE code = 'a' AND NOT is_current",
     "versions overlap or leave a gap"},
    {"INSERT INTO item_current_base SELECT * FROM item_current_base WHERE code = 'a'",
     "more than one current version", true},
    {"UPDATE item_current_base SET valid_from = valid_from + 1 WHERE code = 'a'",
     "versions overlap or leave a gap", true},
    {"UPDATE item_history_base SET is_current = true, valid_to = NULL WHERE code = 'a'",
     "more than one current version", true},
    {"UPDATE item_history_base SET is_current = true WHERE code = 'a'", "is_current disagrees", true},
    {"UPDATE item_history_base SET valid_to = valid_from - 1 WHERE code = 'a'",
     "a version ends before it starts", true},
    {"UPDATE item_history_base SET valid_to = valid_to + 1 WHERE code = 'a'",
     "versions overlap or leave a gap", true},
};

// The parameter: a composite key or not, and for CheckTest whether the entity merges on read (1) or not
// (0), for BrokenTest which breakage (of its layout).
class CheckTest : public ::testing::TestWithParam<std::tuple<bool, size_t>> {
 protected:
  virtual bool MergeOnRead() const { return std::get<1>(GetParam()) == 1; }

  void SetUp() override {
    bool composite = std::get<0>(GetParam());
    entity_ = composite ? Items({"code", "part"}, MergeOnRead()) : Items({"code"}, MergeOnRead());
    std::filesystem::create_directories(dir_.path() / "bucket");
    store_ = std::make_unique<LocalObjectStore>(dir_.path() / "bucket");
    auto w = DuckDbWarehouse::Open({dir_.path() / "w.duckdb"}, entity_);
    ASSERT_TRUE(w.ok()) << w.error().message;
    warehouse_ = std::move(*w);
    std::string header = composite ? "code,part,label,color,n,op\n" : "code,label,color,n,op\n";
    std::string a = composite ? "a,1," : "a,";
    std::string b = composite ? "b,2," : "b,";
    std::ofstream(dir_.path() / "bucket" / "1.csv", std::ios::binary) << header << a << "A,red,1,I\n"
                                                                      << b << "B,red,1,I\n"
                                                                      << a << "A,blue,2,U\n";
    Loader loader(LoaderOptions{}, entity_, *store_, nullptr, *warehouse_);
    auto info = store_->Stat(ObjectKey("1.csv"));
    ASSERT_TRUE(info.ok());
    auto loaded = loader.LoadObject(*info);
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    MergeOptions options;
    options.idle_compaction_after = std::chrono::milliseconds(0);
    MergeJob merge(entity_, *warehouse_, options);
    auto merged = merge.RunOnce();
    ASSERT_TRUE(merged.ok()) << merged.error().message;
    auto idle = merge.RunOnce();  // idle: compacts the delta
    ASSERT_TRUE(idle.ok()) << idle.error().message;
    auto delta = warehouse_->Query("SELECT count(*) FROM item_delta");
    ASSERT_TRUE(delta.ok()) << delta.error().message;
    ASSERT_EQ(delta->rows.at(0).at(0), "0");
    auto base = warehouse_->Query("SELECT count(*) FROM item_history_base");
    ASSERT_TRUE(base.ok()) << base.error().message;
    ASSERT_EQ(base->rows.at(0).at(0), MergeOnRead() ? "1" : "3");
  }
  std::vector<std::string> Failures() {
    auto failures = CheckInvariants(*warehouse_, entity_);
    EXPECT_TRUE(failures.ok()) << failures.error().message;
    return failures.ok() ? *failures : std::vector<std::string>{};
  }

  test_support::TestDir dir_{"dimstream_check"};
  EntitySpec entity_;
  std::unique_ptr<LocalObjectStore> store_;
  std::unique_ptr<Warehouse> warehouse_;
};

TEST_P(CheckTest, ASoundDimensionPasses) {
  auto count = warehouse_->Query("SELECT count(*) FROM item_history");
  ASSERT_TRUE(count.ok());
  ASSERT_EQ(count->rows.at(0).at(0), "3");
  EXPECT_EQ(Failures(), std::vector<std::string>{});
}

class BrokenTest : public CheckTest {
 protected:
  bool MergeOnRead() const override { return kBreakages[std::get<1>(GetParam())].merge_on_read; }
};

TEST_P(BrokenTest, TheBrokenInvariantIsNamedWithItsKey) {
  const Breakage& b = kBreakages[std::get<1>(GetParam())];
  std::string key = std::get<0>(GetParam()) ? "(a, 1)" : "a";
  auto broken = warehouse_->Query(b.sql);
  ASSERT_TRUE(broken.ok()) << broken.error().message;
  auto failures = Failures();
  ASSERT_FALSE(failures.empty()) << b.sql;
  bool named = false;
  for (const auto& f : failures) {
    named |= f.rfind(b.invariant, 0) == 0 && f.size() >= key.size() &&
             f.compare(f.size() - key.size(), key.size(), key) == 0;
  }
  EXPECT_TRUE(named) << b.sql << "\nexpected '" << b.invariant << "...: " << key
                     << "', got: " << failures.front();
}

std::string KeyName(bool composite) {
  return composite ? "Composite" : "Single";
}

INSTANTIATE_TEST_SUITE_P(Keys, CheckTest,
                         ::testing::Combine(::testing::Bool(), ::testing::Values(size_t{0}, size_t{1})),
                         [](const auto& param_info) {
                           return KeyName(std::get<0>(param_info.param)) +
                                  (std::get<1>(param_info.param) == 1 ? "_MergeOnRead" : "");
                         });
INSTANTIATE_TEST_SUITE_P(Keys, BrokenTest,
                         ::testing::Combine(::testing::Bool(),
                                            ::testing::Range(size_t{0}, std::size(kBreakages))),
                         [](const auto& param_info) {
                           return KeyName(std::get<0>(param_info.param)) + "_" +
                                  std::to_string(std::get<1>(param_info.param));
                         });

}  // namespace
}  // namespace dimstream
