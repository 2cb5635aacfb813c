#include "merge/fold.h"

#include <gtest/gtest.h>

namespace dimstream {
namespace {

LogRecord Rec(Micros seq, int64_t arrival, std::vector<Value> attrs, bool del = false) {
  return LogRecord{1, seq, arrival, del, std::move(attrs)};
}

// Attributes: one SCD1 ("name") then one SCD2 ("city").
std::vector<Version> Fold(const std::vector<LogRecord>& records) {
  std::vector<Version> out;
  FoldKey(records, 1, out);
  return out;
}

TEST(FoldTest, NewKeyOpensAVersion) {
  auto v = Fold({Rec(10, 1, {"Ann", "Oslo"})});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].valid_from, 10);
  EXPECT_FALSE(v[0].valid_to);
  EXPECT_EQ(v[0].opened_arrival, 1);
}

TEST(FoldTest, Scd1OverwritesScd2Versions) {
  auto v = Fold({Rec(10, 1, {"Ann", "Oslo"}), Rec(20, 2, {"Anna", "Oslo"}), Rec(30, 3, {"Anna", "Rome"})});
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].attributes[0], "Anna");
  EXPECT_EQ(v[0].valid_to, 30);
  EXPECT_EQ(v[0].updated_arrival, 2);
  EXPECT_EQ(v[1].valid_from, 30);
  EXPECT_EQ(v[1].attributes[1], "Rome");
}

TEST(FoldTest, NullIsAValue) {
  auto v = Fold({Rec(10, 1, {"Ann", std::nullopt}), Rec(20, 2, {std::nullopt, std::nullopt}),
                 Rec(30, 3, {std::nullopt, "Oslo"}), Rec(40, 4, {std::nullopt, std::nullopt})});
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].attributes[0], std::nullopt);
  EXPECT_EQ(v[1].valid_from, 30);
  EXPECT_EQ(v[2].valid_from, 40);
}

TEST(FoldTest, TieLaterArrivalWinsAndLeavesNoTrace) {
  auto v = Fold({Rec(10, 1, {"Ann", "Oslo"}), Rec(10, 2, {"Ann", "Rome"})});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].attributes[1], "Rome");
  EXPECT_EQ(v[0].opened_arrival, 2);
}

TEST(FoldTest, DeleteClosesAndUpsertResurrects) {
  auto v = Fold({Rec(5, 9, {"x", "y"}, true), Rec(10, 1, {"Ann", "Oslo"}), Rec(20, 2, {}, true),
                 Rec(25, 3, {}, true), Rec(30, 4, {"Ann", "Oslo"})});
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].valid_to, 20);
  EXPECT_TRUE(v[0].ended_by_delete);
  EXPECT_EQ(v[1].valid_from, 30);
  EXPECT_FALSE(v[1].valid_to);
}

}  // namespace
}  // namespace dimstream
