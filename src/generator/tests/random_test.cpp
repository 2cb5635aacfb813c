#include "generator/random.h"

#include <gtest/gtest.h>

#include <array>

namespace dimstream {
namespace {

// The file contents of every seed hang on these numbers: if they change, every generated data set does.
TEST(RngTest, MatchesReferenceXoshiro256StarStar) {
  Rng zero(0);
  EXPECT_EQ(zero.Next(), 0x99ec5f36cb75f2b4ULL);
  EXPECT_EQ(zero.Next(), 0xbf6e1f784956452aULL);
  EXPECT_EQ(zero.Next(), 0x1a5f849d4933e6e0ULL);
  EXPECT_EQ(zero.Next(), 0x6aa594f1262d2d2cULL);
  Rng answer(42);
  EXPECT_EQ(answer.Next(), 0x15780b2e0c2ec716ULL);
  EXPECT_EQ(answer.Next(), 0x6104d9866d113a7eULL);
}

TEST(RngTest, UniformStaysInRangeAndCoversIt) {
  Rng rng(7);
  std::array<int, 10> counts{};
  for (int i = 0; i < 100000; ++i) {
    const uint64_t v = rng.Uniform(10);
    ASSERT_LT(v, 10u);
    ++counts[v];
  }
  for (int c : counts) {
    EXPECT_NEAR(c, 10000, 500);
  }
  EXPECT_EQ(rng.Uniform(1), 0u);
  for (int i = 0; i < 1000; ++i) {
    const uint64_t v = rng.Between(5, 7);
    EXPECT_GE(v, 5u);
    EXPECT_LE(v, 7u);
  }
}

TEST(RngTest, BernoulliAndUnitDouble) {
  Rng rng(9);
  int hits = 0;
  for (int i = 0; i < 100000; ++i) {
    const double u = rng.UnitDouble();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    hits += rng.Bernoulli(0.25) ? 1 : 0;
    ASSERT_FALSE(rng.Bernoulli(0.0));
    ASSERT_TRUE(rng.Bernoulli(1.0));
  }
  EXPECT_NEAR(hits, 25000, 600);
}

}  // namespace
}  // namespace dimstream
