#include "merge/fold.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <random>

#include "common/attribute_hash.h"
#include "merge/key_index.h"

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


uint64_t HashOf(const std::vector<Value>& values, size_t from, size_t to) {
  AttributeHash hash;
  for (size_t i = from; i < to && i < values.size(); ++i) {
    values[i] ? hash.Add(*values[i]) : hash.AddNull();
  }
  return hash.Digest();
}

// As the loader stages it: the attributes' hashes (one SCD1 column, then one SCD2 column).
StagedRecord Staged(const LogRecord& r) {
  return StagedRecord{r.key, r.seq, r.arrival, r.is_delete, HashOf(r.attributes, 0, 1), HashOf(r.attributes, 1, 2)};
}

// FoldOnto continues FoldKey: folding a key's records in two parts, the second from the state the first
// left, gives exactly the versions of folding them all at once (random records, every split point).
TEST(FoldTest, FoldOntoContinuesFoldKey) {
  std::mt19937_64 rng(7);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  auto value = [&](const char* a, const char* b) -> Value {
    int v = pick(3);
    return v == 0 ? Value{} : Value{std::string(v == 1 ? a : b)};
  };
  for (int c = 0; c < 2000; ++c) {
    std::vector<LogRecord> records;
    Micros seq = 0;
    int n = 1 + pick(8);
    for (int i = 0; i < n; ++i) {
      seq += pick(3) == 0 && i > 0 ? 0 : 1 + pick(5);  // ties now and then
      records.push_back(Rec(seq, i + 1, {value("Ann", "Anna"), value("Oslo", "Rome")}, pick(5) == 0));
    }
    std::vector<Version> whole;
    FoldKey(records, 1, whole);
    for (size_t split = 0; split <= records.size(); ++split) {
      if (split > 0 && split < records.size() && records[split].seq == records[split - 1].seq) {
        continue;  // the tail must be newer than the head, as the merge guarantees
      }
      std::vector<LogRecord> head(records.begin(), records.begin() + static_cast<std::ptrdiff_t>(split));
      std::vector<StagedRecord> rest;
      for (size_t i = split; i < records.size(); ++i) {
        rest.push_back(Staged(records[i]));
      }
      std::vector<Version> versions;
      FoldKey(head, 1, versions);
      KeyState state = StateAfter(versions, head.empty() ? 0 : head.back().seq);
      std::vector<Version> out;
      FoldStep step = FoldOnto(1, head.empty() ? nullptr : &state, rest, out);
      for (Version& v : out) {  // a version's values are those of the record that last touched it
        v.attributes = records[static_cast<size_t>(v.updated_arrival - 1)].attributes;
      }
      if (step.closed) {
        ASSERT_FALSE(versions.empty());
        ASSERT_EQ(versions.back().valid_from, step.closed->valid_from);
        ASSERT_FALSE(versions.back().valid_to);
        versions.back().valid_to = step.closed->valid_to;
        versions.back().ended_by_delete = step.closed->by_delete;
      }
      if (step.rewrote_open) {
        ASSERT_FALSE(step.closed);
        versions.pop_back();
      }
      versions.insert(versions.end(), out.begin(), out.end());
      ASSERT_EQ(versions.size(), whole.size()) << "case " << c << " split " << split;
      for (size_t i = 0; i < whole.size(); ++i) {
        const Version& a = versions[i];
        const Version& b = whole[i];
        EXPECT_TRUE(a.attributes == b.attributes && a.valid_from == b.valid_from && a.valid_to == b.valid_to &&
                    a.ended_by_delete == b.ended_by_delete && a.opened_arrival == b.opened_arrival &&
                    a.updated_arrival == b.updated_arrival && a.scd1_hash == b.scd1_hash &&
                    a.scd2_hash == b.scd2_hash)
            << "case " << c << " split " << split << " version " << i;
      }
      EXPECT_EQ(step.next, StateAfter(whole, records.back().seq)) << "case " << c << " split " << split;
    }
  }
}

TEST(KeyIndexTest, PutFindAndGrow) {
  KeyIndex index;
  EXPECT_EQ(index.Find(1), nullptr);
  for (int64_t k = -5000; k < 5000; ++k) {
    KeyState s;
    s.last_seq = k * 10;
    s.open_from = k % 3 == 0 ? KeyState::kNoVersion : k;
    index.Put(k * 7919, s);
  }
  EXPECT_EQ(index.size(), 10000u);
  for (int64_t k = -5000; k < 5000; ++k) {
    const KeyState* s = index.Find(k * 7919);
    ASSERT_NE(s, nullptr) << k;
    EXPECT_EQ(s->last_seq, k * 10);
    EXPECT_EQ(s->open(), k % 3 != 0);
  }
  EXPECT_EQ(index.Find(1), nullptr);
  KeyState changed;
  changed.last_seq = 1;
  index.Put(0, changed);
  EXPECT_EQ(index.size(), 10000u);
  EXPECT_EQ(index.Find(0)->last_seq, 1);
  EXPECT_LE(index.Bytes(), 10000u * 48 * 8 / 7 * 2 + 1024 * 48);
  index.Clear();
  EXPECT_EQ(index.Find(0), nullptr);
  EXPECT_EQ(index.size(), 0u);
}

TEST(KeyIndexTest, SnapshotIsReadBackWithItsTag) {
  auto path = std::filesystem::temp_directory_path() / ("dimstream-keys-" + std::to_string(::getpid()));
  KeyIndex index;
  for (int64_t k = 0; k < 20000; ++k) {
    KeyState s;
    s.last_seq = k + 1;
    s.open_from = k % 5 == 0 ? KeyState::kNoVersion : k;
    s.opened_arrival = k * 3;
    s.scd1_hash = static_cast<uint64_t>(k) * 11;
    s.scd2_hash = static_cast<uint64_t>(k) * 13;
    index.Put(k, s);
  }
  ASSERT_TRUE(index.Save(path, {42, 7}).ok());
  KeyIndex back;
  auto loaded = back.Load(path);
  ASSERT_TRUE(loaded.ok() && *loaded);
  EXPECT_EQ((*loaded)->watermark, 42);
  EXPECT_EQ((*loaded)->horizon, 7);
  ASSERT_EQ(back.size(), index.size());
  for (int64_t k = 0; k < 20000; ++k) {
    ASSERT_NE(back.Find(k), nullptr);
    EXPECT_EQ(*back.Find(k), *index.Find(k)) << k;
  }
  // A cut file is not used.
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 10);
  auto cut = back.Load(path);
  EXPECT_TRUE(cut.ok() && !*cut);
  EXPECT_EQ(back.size(), 0u);
  std::filesystem::remove(path);
  auto missing = back.Load(path);
  EXPECT_TRUE(missing.ok() && !*missing);
}

}  // namespace
}  // namespace dimstream
