#include "generator/csv_line.h"

#include <gtest/gtest.h>

namespace dimstream {
namespace {

std::string Field(std::string_view v) {
  std::string out;
  AppendCsvField(out, v);
  return out;
}

TEST(CsvLineTest, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(Field("Campbell"), "Campbell");
  EXPECT_EQ(Field(""), "");
  EXPECT_EQ(Field("O'Brien"), "O'Brien");
  EXPECT_EQ(Field("Zoë"), "Zoë");
  EXPECT_EQ(Field("Apt. 5, Rear"), "\"Apt. 5, Rear\"");
  EXPECT_EQ(Field("Robert \"Bob\""), "\"Robert \"\"Bob\"\"\"");
  EXPECT_EQ(Field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(Field(" padded"), "\" padded\"");
}

}  // namespace
}  // namespace dimstream
