#include "common/clock.h"

#include <gtest/gtest.h>

namespace dimstream {
namespace {

TEST(ClockTest, ParsesIsoForms) {
  EXPECT_EQ(ParseTimestamp("1970-01-01"), 0);
  EXPECT_EQ(ParseTimestamp("1970-01-01T00:00:01Z"), 1000000);
  EXPECT_EQ(ParseTimestamp("1970-01-01 00:00:01.5"), 1500000);
  EXPECT_EQ(ParseTimestamp("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(ParseTimestamp("1969-12-31T23:00:00-0100"), 0);
  EXPECT_EQ(ParseTimestamp("2024-02-29T12:00"), 1709208000LL * 1000000);
}

TEST(ClockTest, RefusesBadDates) {
  EXPECT_FALSE(ParseTimestamp(""));
  EXPECT_FALSE(ParseTimestamp("2023-02-29"));
  EXPECT_FALSE(ParseTimestamp("2024-13-01"));
  EXPECT_FALSE(ParseTimestamp("2024-01-01T25:00"));
  EXPECT_FALSE(ParseTimestamp("2024-01-01T10:00+"));
  EXPECT_FALSE(ParseTimestamp("yesterday"));
  // Found by the timestamp fuzzer: year 0 with a positive offset is year -1 in UTC.
  EXPECT_FALSE(ParseTimestamp("0000-01-01T00:00+01:00"));
  EXPECT_FALSE(ParseTimestamp("0000-06-01"));
  EXPECT_TRUE(ParseTimestamp("0001-01-01T00:00:00Z"));
  EXPECT_TRUE(ParseTimestamp("9999-12-31T23:59:59.999999Z"));
  EXPECT_FALSE(ParseTimestamp("9999-12-31T23:59:59-01:00"));
}

TEST(ClockTest, FormatsRoundTrip) {
  Micros t = *ParseTimestamp("2025-01-08T11:11:11.000123Z");
  EXPECT_EQ(FormatTimestamp(t), "2025-01-08T11:11:11.000123Z");
  EXPECT_EQ(FormatCompactTimestamp(t), "20250108111111");
  EXPECT_EQ(ParseTimestamp(FormatTimestamp(-86400000000LL)), -86400000000LL);
}

}  // namespace
}  // namespace dimstream
