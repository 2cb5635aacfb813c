#include "merge/fold.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <random>

#include "common/typed_value.h"
#include "merge/key_index.h"

namespace dimstream {
namespace {

// Records of key 1; a record's "values" are its hashes: scd1 and scd2 stand for the SCD1 and SCD2 values.
MergeRecord Rec(Micros seq, int64_t arrival, uint64_t scd1, uint64_t scd2,
                Operation op = Operation::kUpsert) {
  return MergeRecord{1, 0, OrderedTimestamp(seq), arrival, op, scd1, scd2};
}
MergeRecord Del(Micros seq, int64_t arrival) {
  return Rec(seq, arrival, 0, 0, Operation::kDelete);
}
MergeRecord Truncate(Micros seq, int64_t arrival) {
  MergeRecord t = Rec(seq, arrival, 0, 0, Operation::kTruncate);
  t.key_id = 0;
  return t;
}

std::vector<Version> Fold(const std::vector<MergeRecord>& records,
                          const std::vector<MergeRecord>& truncates = {},
                          Scd1Scope scope = Scd1Scope::kCurrent) {
  std::vector<Version> out;
  FoldKey(records, truncates, scope, out);
  return out;
}

TEST(FoldTest, NewKeyOpensAVersion) {
  auto v = Fold({Rec(10, 1, 7, 8)});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].valid_from, OrderedTimestamp(10));
  EXPECT_TRUE(v[0].open());
  EXPECT_EQ(v[0].opened_arrival, 1);
  EXPECT_EQ(v[0].updated_arrival, 1);
  EXPECT_EQ(v[0].scd1_arrival, 1);
}

TEST(FoldTest, Scd1InPlaceThenScd2OpensAVersion) {
  auto v = Fold({Rec(10, 1, 1, 5), Rec(20, 2, 2, 5), Rec(30, 3, 2, 6)});
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].updated_arrival, 2);  // its values are record 2's
  EXPECT_EQ(v[0].scd1_hash, 2u);
  EXPECT_EQ(v[0].closed_arrival, 3);
  EXPECT_FALSE(v[0].ended_by_delete);
  EXPECT_EQ(v[1].valid_from, OrderedTimestamp(30));
  EXPECT_EQ(v[1].opened_arrival, 3);
}

TEST(FoldTest, TieLaterArrivalWinsAndLeavesNoTrace) {
  auto v = Fold({Rec(10, 1, 1, 5), Rec(10, 2, 1, 6)});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].scd2_hash, 6u);
  EXPECT_EQ(v[0].opened_arrival, 2);
}

TEST(FoldTest, DeleteClosesAndUpsertResurrects) {
  auto v = Fold({Del(5, 9), Rec(10, 1, 1, 5), Del(20, 2), Del(25, 3), Rec(30, 4, 1, 5)});
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].closed_arrival, 2);
  EXPECT_TRUE(v[0].ended_by_delete);
  EXPECT_EQ(v[1].valid_from, OrderedTimestamp(30));
  EXPECT_TRUE(v[1].open());
}

TEST(FoldTest, TruncateClosesAndLaterRecordsApply) {
  // Truncate at 20: the version open then closes; a record after it opens a new one; one before it (late)
  // is placed before it.
  auto v = Fold({Rec(10, 1, 1, 5), Rec(15, 4, 2, 5), Rec(30, 3, 1, 5)}, {Truncate(20, 2)});
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].updated_arrival, 4);
  EXPECT_EQ(v[0].closed_arrival, 2);
  EXPECT_TRUE(v[0].ended_by_delete);
  EXPECT_EQ(v[1].opened_arrival, 3);
  // A truncate before the key's first record closes nothing.
  EXPECT_EQ(Fold({Rec(10, 5, 1, 5)}, {Truncate(5, 2)}).size(), 1u);
}

TEST(FoldTest, TruncateTiesFollowArrival) {
  // An upsert with the truncate's sequence and a later arrival supersedes the truncate for this key...
  auto later = Fold({Rec(10, 1, 1, 5), Rec(20, 3, 1, 6)}, {Truncate(20, 2)});
  ASSERT_EQ(later.size(), 2u);
  EXPECT_FALSE(later[0].ended_by_delete);
  EXPECT_EQ(later[0].closed_arrival, 3);
  // ...and one with an earlier arrival is superseded by it.
  auto earlier = Fold({Rec(10, 1, 1, 5), Rec(20, 2, 1, 6)}, {Truncate(20, 3)});
  ASSERT_EQ(earlier.size(), 1u);
  EXPECT_EQ(earlier[0].closed_arrival, 3);
  EXPECT_TRUE(earlier[0].ended_by_delete);
}

TEST(FoldTest, AllVersionsScopeCarriesTheLatestUpsertsScd1) {
  auto v =
      Fold({Rec(10, 1, 1, 5), Rec(20, 2, 2, 6), Rec(25, 4, 3, 6), Del(30, 3)}, {}, Scd1Scope::kAllVersions);
  ASSERT_EQ(v.size(), 2u);
  for (const Version& x : v) {
    EXPECT_EQ(x.scd1_arrival, 4);  // the latest upsert
    EXPECT_EQ(x.scd1_hash, 3u);
  }
  EXPECT_EQ(v[1].updated_arrival, 4);
}

// The sequence of the record or truncate that arrived at `arrival`.
std::string SeqOf(int64_t arrival, const std::vector<MergeRecord>& records,
                  const std::vector<MergeRecord>& truncates) {
  for (const auto* list : {&records, &truncates}) {
    for (const MergeRecord& r : *list) {
      if (r.arrival == arrival) {
        return r.seq;
      }
    }
  }
  return {};
}

// FoldOnto continues FoldKey: folding a key's records in two parts, the second from the state the first
// left, gives exactly the versions of folding them all at once (random records and truncates, every split
// point, both SCD1 scopes).
TEST(FoldTest, FoldOntoContinuesFoldKey) {
  std::mt19937_64 rng(7);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  for (int c = 0; c < 3000; ++c) {
    Scd1Scope scope = c % 2 == 0 ? Scd1Scope::kCurrent : Scd1Scope::kAllVersions;
    // Records and truncates in one stream of sequences; arrivals are the stream's positions.
    std::vector<MergeRecord> records;
    std::vector<MergeRecord> truncates;
    Micros seq = 0;
    int n = 1 + pick(9);
    for (int i = 0; i < n; ++i) {
      seq += pick(3) == 0 && i > 0 ? 0 : 1 + pick(5);  // ties now and then
      int kind = pick(8);
      if (kind == 0) {
        truncates.push_back(Truncate(seq, i + 1));
      } else if (kind == 1) {
        records.push_back(Del(seq, i + 1));
      } else {
        records.push_back(Rec(seq, i + 1, static_cast<uint64_t>(pick(2)), static_cast<uint64_t>(pick(2))));
      }
    }
    if (records.empty()) {
      continue;
    }
    std::vector<Version> whole = Fold(records, truncates, scope);
    // Split at a sequence: the head is what the log holds, the tail what a run stages (with its truncates).
    for (size_t split = 0; split <= records.size(); ++split) {
      if (split > 0 && split < records.size() && records[split].seq == records[split - 1].seq) {
        continue;  // the tail must be newer than the head, as the merge guarantees
      }
      std::string cut = split < records.size() ? records[split].seq : std::string(64, '\xff');
      std::vector<MergeRecord> head(records.begin(), records.begin() + static_cast<std::ptrdiff_t>(split));
      std::vector<MergeRecord> tail(records.begin() + static_cast<std::ptrdiff_t>(split), records.end());
      std::vector<MergeRecord> old_truncates;
      std::vector<MergeRecord> new_truncates;
      bool usable = true;
      for (const MergeRecord& t : truncates) {
        (t.seq < cut ? old_truncates : new_truncates).push_back(t);
        usable &= !(t.seq == cut);  // a tie with the tail's first record: the merge refolds such a key
      }
      if (!usable || tail.empty()) {
        continue;
      }
      std::vector<Version> versions = Fold(head, old_truncates, scope);
      KeyState state = StateAfter(versions, head.empty() ? 0 : OrderedFloor(head.back().seq));
      std::vector<Version> out;
      FoldStep step = FoldOnto(1, head.empty() ? nullptr : &state, tail, new_truncates, scope, out);
      if (step.edit && step.edit->closed_arrival != 0) {
        ASSERT_FALSE(versions.empty());
        ASSERT_TRUE(versions.back().open());
        ASSERT_EQ(versions.back().opened_arrival, step.edit->opened_arrival);
        versions.back().closed_arrival = step.edit->closed_arrival;
        versions.back().valid_to = SeqOf(step.edit->closed_arrival, records, truncates);
        versions.back().ended_by_delete = step.edit->by_delete;
      }
      if (step.rewrote_open) {
        ASSERT_TRUE(step.edit && step.edit->closed_arrival == 0);
        ASSERT_FALSE(out.empty());
        // From the state's floor: exact for a compact sequence (a timestamp here).
        EXPECT_EQ(out.front().valid_from, versions.back().valid_from);
        versions.pop_back();
      }
      versions.insert(versions.end(), out.begin(), out.end());
      if (scope == Scd1Scope::kAllVersions) {
        // What SetScd1OfAllVersions does when an upsert of the run took effect.
        for (Version& v : versions) {
          if (step.latest_upsert != 0) {
            v.scd1_arrival = step.latest_upsert;
            v.scd1_hash = records[static_cast<size_t>(std::find_if(records.begin(), records.end(),
                                                                   [&](const MergeRecord& r) {
                                                                     return r.arrival == step.latest_upsert;
                                                                   }) -
                                                      records.begin())]
                              .scd1_hash;
          }
        }
      }
      ASSERT_EQ(versions.size(), whole.size()) << "case " << c << " split " << split;
      for (size_t i = 0; i < whole.size(); ++i) {
        const Version& a = versions[i];
        const Version& b = whole[i];
        EXPECT_TRUE(a.valid_from == b.valid_from && a.valid_to == b.valid_to &&
                    a.closed_arrival == b.closed_arrival && a.ended_by_delete == b.ended_by_delete &&
                    a.opened_arrival == b.opened_arrival && a.updated_arrival == b.updated_arrival &&
                    a.scd1_arrival == b.scd1_arrival && a.scd1_hash == b.scd1_hash &&
                    a.scd2_hash == b.scd2_hash)
            << "case " << c << " split " << split << " version " << i;
      }
      EXPECT_EQ(step.next, StateAfter(whole, OrderedFloor(records.back().seq)))
          << "case " << c << " split " << split;
    }
  }
}

TEST(KeyIndexTest, PutFindAndGrow) {
  KeyIndex index;
  EXPECT_EQ(index.Find(1), nullptr);
  for (int64_t k = -5000; k < 5000; ++k) {
    KeyState s;
    s.last_seq = static_cast<uint64_t>(k * 10);
    s.opened_arrival = k % 3 == 0 ? 0 : k + 5000;
    index.Put(static_cast<uint64_t>(k * 7919), s);
  }
  EXPECT_EQ(index.size(), 10000u);
  for (int64_t k = -5000; k < 5000; ++k) {
    const KeyState* s = index.Find(static_cast<uint64_t>(k * 7919));
    ASSERT_NE(s, nullptr) << k;
    EXPECT_EQ(s->last_seq, static_cast<uint64_t>(k * 10));
    EXPECT_EQ(s->open(), k % 3 != 0 && k != -5000);
  }
  EXPECT_EQ(index.Find(1), nullptr);
  KeyState changed;
  changed.last_seq = 1;
  index.Put(0, changed);
  EXPECT_EQ(index.size(), 10000u);
  EXPECT_EQ(index.Find(0)->last_seq, 1u);
  EXPECT_LE(index.Bytes(), 10000u * 40 * 8 / 7 * 2 + 1024 * 40);
  index.MarkColliding(7);
  EXPECT_TRUE(index.IsColliding(7));
  EXPECT_FALSE(index.IsColliding(8));
  index.Clear();
  EXPECT_EQ(index.Find(0), nullptr);
  EXPECT_EQ(index.size(), 0u);
}

// The table grows by half, not by doubling, and Reserve makes exactly the room Warm asks for: at most 100
// bytes a key at any count (a power-of-two table holds 30M keys in 2^26 slots: 107 bytes a key).
TEST(KeyIndexTest, BytesPerKeyStayUnderAHundredAtAnyCount) {
  KeyIndex grown;
  double worst = 0;
  for (uint64_t k = 1; k <= 300000; ++k) {
    KeyState s;
    s.last_seq = k;
    grown.Put(k * 2654435761u, s);
    if (k >= 2000) {
      worst = std::max(worst, static_cast<double>(grown.Bytes()) / static_cast<double>(k));
    }
  }
  EXPECT_LE(worst, 100.0);
  for (uint64_t k = 1; k <= 300000; ++k) {
    const KeyState* s = grown.Find(k * 2654435761u);
    ASSERT_NE(s, nullptr) << k;
    EXPECT_EQ(s->last_seq, k);
  }
  for (size_t keys : {size_t{4096}, size_t{70000}, size_t{131073}}) {
    KeyIndex reserved;
    reserved.Reserve(keys);
    std::vector<std::pair<uint64_t, KeyState>> entries;
    for (uint64_t k = 0; k < keys; ++k) {
      entries.emplace_back(k, KeyState{k, 0, static_cast<int64_t>(k), 0, 0});
    }
    const uint64_t before = reserved.Bytes();
    reserved.PutMany(entries);
    EXPECT_EQ(reserved.Bytes(), before) << keys << " keys: Reserve made too little room";
    EXPECT_LE(static_cast<double>(reserved.Bytes()) / static_cast<double>(keys), 56.0) << keys;
    EXPECT_EQ(reserved.size(), keys);
  }
}

TEST(KeyIndexTest, SnapshotIsReadBackWithItsTag) {
  auto path = std::filesystem::temp_directory_path() / ("dimstream-keys-" + std::to_string(::getpid()));
  KeyIndex index;
  for (uint64_t k = 0; k < 20000; ++k) {
    KeyState s;
    s.last_seq = k + 1;
    s.opened_arrival = k % 5 == 0 ? 0 : static_cast<int64_t>(k * 3);
    s.scd1_hash = k * 11;
    s.scd2_hash = k * 13;
    index.Put(k, s);
  }
  index.MarkColliding(3);
  index.MarkColliding(19999);
  ASSERT_TRUE(index.Save(path, {42, 7}).ok());
  KeyIndex back;
  auto loaded = back.Load(path);
  ASSERT_TRUE(loaded.ok() && *loaded);
  EXPECT_EQ((*loaded)->watermark, 42);
  EXPECT_EQ((*loaded)->horizon, 7);
  ASSERT_EQ(back.size(), index.size());
  EXPECT_EQ(back.colliding(), index.colliding());
  for (uint64_t k = 0; k < 20000; ++k) {
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
