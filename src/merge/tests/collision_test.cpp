// Keys forced to share key ids (EntitySpec::key_id_bits) through the real loader, merge and a DuckDB file:
// whatever the key index holds for a shared id, no two keys are ever merged (merge/key_index.h says how).
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "common/testing/test_dir.h"
#include "loader/loader.h"
#include "loader/record_parser.h"
#include "merge/check.h"
#include "merge/merge.h"
#include "object_store/local_object_store.h"
#include "warehouse/duckdb/duckdb_warehouse.h"

namespace dimstream {
namespace {

EntitySpec Tags(unsigned bits) {
  EntitySpec e;
  e.name = "tag";
  e.key_columns = {"code"};
  e.scd1_columns = {"label"};
  e.scd2_columns = {"color"};
  e.sequence_columns = {"n"};
  e.types = {{"n", ColumnType::Bigint()}};
  e.file_pattern = "*";
  e.key_id_bits = bits;
  return e;
}

uint64_t KeyIdOf(const EntitySpec& e, const std::string& code) {
  ParsedObject p;
  ParseObject("code,n\n" + code + ",1\n", e, {}, p);
  EXPECT_EQ(p.rows.size(), 1u);
  return p.rows.key_id.at(0);
}

// Two codes with one key id and a third with another.
struct Codes {
  std::string a, b, other;
};
Codes FindCodes(const EntitySpec& e) {
  std::map<uint64_t, std::vector<std::string>> by_id;
  for (int i = 0; i < 64; ++i) {
    std::string code = "k" + std::to_string(i);
    by_id[KeyIdOf(e, code)].push_back(code);
  }
  Codes c;
  for (const auto& [id, codes] : by_id) {
    if (codes.size() >= 2 && c.a.empty()) {
      c.a = codes[0];
      c.b = codes[1];
    } else if (c.other.empty()) {
      c.other = codes[0];
    }
  }
  EXPECT_FALSE(c.a.empty() || c.other.empty());
  return c;
}

class CollisionTest : public ::testing::Test {
 protected:
  void Open(const EntitySpec& e) {
    entity_ = e;
    std::filesystem::create_directories(dir_.path() / "bucket");
    store_ = std::make_unique<LocalObjectStore>(dir_.path() / "bucket");
    auto w = DuckDbWarehouse::Open({dir_.path() / "w.duckdb"}, entity_);
    ASSERT_TRUE(w.ok()) << w.error().message;
    warehouse_ = std::move(*w);
    MergeOptions options;
    options.in_place_rewrites_from = in_place_rewrites_from_;
    merge_ = std::make_unique<MergeJob>(entity_, *warehouse_, options);
  }
  void LoadAndMerge(const std::string& name, const std::string& rows) {
    std::ofstream(dir_.path() / "bucket" / name, std::ios::binary) << "code,label,color,n,op\n" << rows;
    Loader loader(LoaderOptions{}, entity_, *store_, nullptr, *warehouse_);
    auto info = store_->Stat(ObjectKey(name));
    ASSERT_TRUE(info.ok());
    auto loaded = loader.LoadObject(*info);
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    auto merged = merge_->RunOnce();
    ASSERT_TRUE(merged.ok()) << merged.error().message;
  }
  // code | label | color | valid_from | valid_to, in key and valid_from order.
  std::vector<std::string> History() {
    auto r = warehouse_->Query(
        "SELECT code || '|' || coalesce(label, '') || '|' || coalesce(color, '') || '|' || valid_from || '|' "
        "|| "
        "coalesce(CAST(valid_to AS VARCHAR), '') FROM tag_history ORDER BY code, valid_from");
    EXPECT_TRUE(r.ok()) << r.error().message;
    std::vector<std::string> out;
    for (const auto& row : r->rows) {
      out.push_back(*row[0]);
    }
    return out;
  }
  void ExpectSound() {
    auto failures = CheckInvariants(*warehouse_, entity_);
    ASSERT_TRUE(failures.ok());
    EXPECT_TRUE(failures->empty()) << failures->front();
    auto before = History();
    auto rebuilt = merge_->Rebuild();
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().message;
    EXPECT_EQ(History(), before) << "rebuild changed the history";
  }

  // Keys 7 and 8 opened, then an SCD1 change of 7 and an SCD2 change of 8.
  void ExpectScd1InPlace(bool in_place = true) {
    LoadAndMerge("1.csv", "7,A,red,1,I\n8,B,red,1,I\n");
    auto rowid = [&](const std::string& code) {
      auto r = warehouse_->Query(
          "SELECT CAST(rowid AS VARCHAR) FROM tag_history_base WHERE CAST(code AS VARCHAR) = '" + code +
          "' AND is_current");
      EXPECT_TRUE(r.ok() && r->rows.size() == 1);
      return r.ok() && r->rows.size() == 1 ? *r->rows[0][0] : std::string();
    };
    std::string a = rowid("7");
    std::string b = rowid("8");
    LoadAndMerge("2.csv", "7,A2,red,2,U\n8,B,blue,2,U\n");
    EXPECT_EQ(rowid("7") == a, in_place);
    EXPECT_NE(rowid("8"), b);
    EXPECT_EQ(History(), (std::vector<std::string>{"7|A2|red|1|", "8|B|red|1|2", "8|B|blue|2|"}));
    ExpectSound();
  }

  size_t in_place_rewrites_from_ = MergeOptions{}.in_place_rewrites_from;
  test_support::TestDir dir_{"dimstream_collision"};
  EntitySpec entity_;
  std::unique_ptr<LocalObjectStore> store_;
  std::unique_ptr<DuckDbWarehouse> warehouse_;
  std::unique_ptr<MergeJob> merge_;
};

// A new key under the id of a key with an open version: the incremental path would edit the other key's
// version. The warehouse refuses the edit by its key columns, the run is rolled back and run again with the
// id marked shared, and both keys come out as they should.
TEST_F(CollisionTest, ANewKeyUnderTheIdOfAnOpenOne) {
  Open(Tags(2));
  Codes c = FindCodes(entity_);
  LoadAndMerge("1.csv", c.a + ",A,red,1,I\n" + c.other + ",O,red,1,I\n");
  EXPECT_EQ(merge_->collision_retries(), 0u);
  LoadAndMerge("2.csv", c.b + ",B,blue,2,I\n");
  EXPECT_EQ(merge_->collision_retries(), 1u);
  EXPECT_TRUE(merge_->index().IsColliding(KeyIdOf(entity_, c.a)));
  // Both keys change again: refolded from their log, each on its own.
  LoadAndMerge("3.csv", c.a + ",A2,red,3,U\n" + c.b + ",B,green,3,U\n");
  LoadAndMerge("4.csv", c.b + ",,,4,D\n");
  EXPECT_EQ(History(), (std::vector<std::string>{
                           c.a + "|A2|red|1|",
                           c.b + "|B|blue|2|3",
                           c.b + "|B|green|3|4",
                           c.other + "|O|red|1|",
                       }));
  ExpectSound();
  // A restart without the snapshot reads the shared id from the warehouse without knowing it is shared (the
  // scan does not look for that), and still never merges the two keys.
  merge_ = std::make_unique<MergeJob>(entity_, *warehouse_);
  LoadAndMerge("5.csv", c.b + ",B,red,5,I\n");
  LoadAndMerge("6.csv", c.a + ",A3,red,6,U\n" + c.b + ",,,7,D\n");
  EXPECT_EQ(History(), (std::vector<std::string>{
                           c.a + "|A3|red|1|",
                           c.b + "|B|blue|2|3",
                           c.b + "|B|green|3|4",
                           c.b + "|B|red|5|7",
                           c.other + "|O|red|1|",
                       }));
  ExpectSound();
}

// Under the id of a key with no open version (deleted), a new key opens its own: right for it, and the
// deleted key's reinsert later meets the new key's version and is refused in the same way.
TEST_F(CollisionTest, ANewKeyUnderTheIdOfADeletedOne) {
  Open(Tags(2));
  Codes c = FindCodes(entity_);
  LoadAndMerge("1.csv", c.a + ",A,red,1,I\n" + c.a + ",,,2,D\n");
  LoadAndMerge("2.csv", c.b + ",B,blue,3,I\n");
  LoadAndMerge("3.csv", c.a + ",A,red,4,I\n");
  EXPECT_GE(merge_->collision_retries(), 1u);
  EXPECT_EQ(History(), (std::vector<std::string>{
                           c.a + "|A|red|1|2",
                           c.a + "|A|red|4|",
                           c.b + "|B|blue|3|",
                       }));
  ExpectSound();
}

// Both keys of a shared id in one run: seen in the stage, refolded at once.
TEST_F(CollisionTest, TwoKeysOfOneIdInOneRun) {
  Open(Tags(2));
  Codes c = FindCodes(entity_);
  LoadAndMerge("1.csv", c.a + ",A,red,1,I\n" + c.b + ",B,red,1,I\n" + c.a + ",A,blue,2,U\n");
  EXPECT_EQ(merge_->collision_retries(), 0u);
  EXPECT_TRUE(merge_->index().IsColliding(KeyIdOf(entity_, c.a)));
  EXPECT_EQ(History(), (std::vector<std::string>{
                           c.a + "|A|red|1|2",
                           c.a + "|A|blue|2|",
                           c.b + "|B|red|1|",
                       }));
  ExpectSound();
}

// The same with a bigint key, whose key id is otherwise the key itself: with fewer bits it is not.
TEST_F(CollisionTest, BigintKeysWithFewerBits) {
  EntitySpec e = Tags(1);
  e.types["code"] = ColumnType::Bigint();
  Open(e);
  EXPECT_FALSE(entity_.exact_key_id());
  LoadAndMerge("1.csv", "1,A,red,1,I\n");
  LoadAndMerge("2.csv", "3,C,red,2,I\n");  // 1 & 1 == 3 & 1
  LoadAndMerge("3.csv", "1,A,blue,3,U\n3,C,red,3,U\n5,E,red,3,I\n");
  EXPECT_EQ(History(), (std::vector<std::string>{"1|A|red|1|3", "1|A|blue|3|", "3|C|red|2|", "5|E|red|3|"}));
  ExpectSound();
}

// SCD1 values for every version: the merge writes the history rows in its runs (no merge on read, whose runs
// append to a delta instead), which these tests are about.
EntitySpec WrittenByRuns(EntitySpec e) {
  e.scd1_scope = Scd1Scope::kAllVersions;
  return e;
}

// Not a collision: an SCD1 change of an open version rewrites its history row in place (an UPDATE keeps the
// row's rowid; a DELETE and an INSERT would not, and DuckDB would hold the delete in memory for good), while
// an SCD2 change closes the row in place and appends the new version. With both kinds of key id.
TEST_F(CollisionTest, AnScd1ChangeRewritesTheHistoryRowInPlaceWhereKeyIdsAreHashes) {
  in_place_rewrites_from_ = 1;
  Open(WrittenByRuns(Tags(2)));
  ExpectScd1InPlace();
}

TEST_F(CollisionTest, AnScd1ChangeRewritesTheHistoryRowInPlaceWhereTheKeyIsItsId) {
  in_place_rewrites_from_ = 1;
  EntitySpec e = WrittenByRuns(Tags(64));
  e.types["code"] = ColumnType::Bigint();
  Open(e);
  ExpectScd1InPlace();
}

// Fewer rewrites than in_place_rewrites_from: the row is deleted and appended again.
TEST_F(CollisionTest, AFewScd1ChangesReplaceTheirHistoryRows) {
  Open(WrittenByRuns(Tags(2)));
  ExpectScd1InPlace(false);
}

}  // namespace
}  // namespace dimstream
