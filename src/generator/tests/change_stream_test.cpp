#include "generator/change_stream.h"

#include <gtest/gtest.h>

#include <map>

#include "common/clock.h"
#include "test_files.h"

namespace dimstream {
namespace {

constexpr Micros kStart = 1735689600LL * 1000000;  // 2025-01-01T00:00:00Z

GenerateOptions Busy() {
  GenerateOptions o;
  o.update_share = 0.2;
  o.duplicate_share = 0.05;
  o.delete_share = 0.05;
  o.late_share = 0.05;
  o.bad_share = 0.02;
  o.null_share = 0.05;
  return o;
}

std::vector<std::string> Header(const ChangeStream& s) {
  std::string h = s.Header();
  EXPECT_EQ(h.substr(h.size() - 2), "\r\n");
  return *testing::SplitCsv(h.substr(0, h.size() - 2));
}

TEST(ChangeStreamTest, HeaderFollowsTheOptions) {
  GenerateOptions o;
  EXPECT_EQ(ChangeStream(o, kStart).Header(),
            "customer_id,first_name,last_name,email,street,city,state,country\r\n");
  o.event_time = true;
  o.with_op = true;
  EXPECT_EQ(ChangeStream(o, kStart).Header(),
            "customer_id,first_name,last_name,email,street,city,state,country,updated_at,op\r\n");
  GenerateOptions forced;
  forced.late_share = 0.1;
  forced.delete_share = 0.1;
  const ChangeStream s(forced, kStart);
  EXPECT_TRUE(s.writes_event_time());
  EXPECT_TRUE(s.writes_op());
}

TEST(ChangeStreamTest, SeedDecidesEveryByte) {
  ChangeStream a(Busy(), kStart);
  ChangeStream b(Busy(), kStart);
  GenerateOptions other = Busy();
  other.seed = 43;
  ChangeStream c(other, kStart);
  int differ = 0;
  for (int i = 0; i < 5000; ++i) {
    const std::string la = a.Next().line;
    ASSERT_EQ(la, b.Next().line) << "row " << i;
    differ += la != c.Next().line ? 1 : 0;
  }
  EXPECT_GT(differ, 4900);
}

TEST(ChangeStreamTest, KindsFollowTheShares) {
  const GenerateOptions o = Busy();
  ChangeStream s(o, kStart);
  std::map<RowKind, double> n;
  const int rows = 100000;
  for (int i = 0; i < rows; ++i) {
    n[s.Next().kind] += 1.0 / rows;
  }
  const double updates = n[RowKind::kScd1Update] + n[RowKind::kScd2Update] + n[RowKind::kReinsert];
  EXPECT_NEAR(updates, o.update_share, 0.01);
  EXPECT_NEAR(n[RowKind::kScd2Update] / (n[RowKind::kScd1Update] + n[RowKind::kScd2Update]), o.scd2_share,
              0.02);
  EXPECT_NEAR(n[RowKind::kDuplicate], o.duplicate_share, 0.005);
  EXPECT_NEAR(n[RowKind::kDelete], o.delete_share, 0.005);
  EXPECT_NEAR(n[RowKind::kLateUpdate], o.late_share, 0.005);
  EXPECT_NEAR(n[RowKind::kBad], o.bad_share, 0.003);
  EXPECT_NEAR(n[RowKind::kInsert], 1 - 0.2 - 0.05 - 0.05 - 0.05 - 0.02, 0.01);
  EXPECT_GT(n[RowKind::kReinsert], 0);  // updates that hit a deleted key
}

TEST(ChangeStreamTest, BadRowsAreExactlyTheRejectedOnes) {
  GenerateOptions o = Busy();
  o.bad_share = 0.1;
  ChangeStream s(o, kStart);
  const std::vector<std::string> header = Header(s);
  std::map<std::string, int> reasons;
  for (int i = 0; i < 20000; ++i) {
    const StreamRow row = s.Next();
    ASSERT_EQ(row.line.substr(row.line.size() - 2), "\r\n");
    const std::string line = row.line.substr(0, row.line.size() - 2);
    ASSERT_EQ(line.find_first_of("\r\n"), std::string::npos) << line;
    const auto reason = testing::RejectReason(header, line);
    if (row.kind == RowKind::kBad) {
      ASSERT_TRUE(reason.has_value()) << "a malformed row that would load: " << line;
      ++reasons[reason->substr(0, reason->find(' '))];
    } else {
      ASSERT_FALSE(reason.has_value()) << *reason << ": " << line;
    }
  }
  // Every kind of mistake shows up.
  for (const char* kind : {"field", "key", "updated_at", "op", "not"}) {
    EXPECT_GT(reasons[kind], 50) << kind;
  }
}

TEST(ChangeStreamTest, FullKeySpaceTurnsNewKeysIntoUpdates) {
  GenerateOptions o;
  o.key_space = 50;
  o.first_key = 1000;
  o.with_op = true;
  ChangeStream s(o, kStart);
  for (uint64_t i = 0; i < 50; ++i) {
    const StreamRow row = s.Next();
    EXPECT_EQ(row.kind, RowKind::kInsert);
    EXPECT_EQ(row.line.substr(0, row.line.find(',')), std::to_string(1000 + i));
  }
  for (int i = 0; i < 1000; ++i) {
    const StreamRow row = s.Next();
    ASSERT_TRUE(row.kind == RowKind::kScd1Update || row.kind == RowKind::kScd2Update)
        << RowKindName(row.kind);
    const uint64_t key = std::stoull(row.line.substr(0, row.line.find(',')));
    EXPECT_GE(key, 1000u);
    EXPECT_LT(key, 1050u);
    EXPECT_EQ(row.line.substr(row.line.size() - 4), ",U\r\n");
  }
}

TEST(ChangeStreamTest, FirstRowCarriesTheStartTime) {
  GenerateOptions o;
  o.event_time = true;
  ChangeStream s(o, *ParseTimestamp("2030-06-01T12:00:00Z"));
  EXPECT_NE(s.Next().line.find(",2030-06-01T12:00:00Z\r\n"), std::string::npos);
  EXPECT_EQ(s.Next().line.find(",2030-06-01T12:00:00Z\r\n"), std::string::npos);
}

}  // namespace
}  // namespace dimstream
