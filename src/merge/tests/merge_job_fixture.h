#pragma once

// What the tests of one MergeJob on a DuckDB warehouse share: an entity of bigint keys with one SCD1 and one
// SCD2 column, files loaded by the real loader from a local bucket.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>

#include "common/testing/test_dir.h"
#include "loader/loader.h"
#include "merge/merge.h"
#include "object_store/local_object_store.h"
#include "warehouse/duckdb/duckdb_warehouse.h"

namespace dimstream::test_support {

inline EntitySpec Items() {
  EntitySpec e;
  e.name = "item";
  e.key_columns = {"code"};
  e.scd1_columns = {"label"};
  e.scd2_columns = {"color"};
  e.sequence_columns = {"n"};
  e.types = {{"code", ColumnType::Bigint()}, {"n", ColumnType::Bigint()}};
  e.file_pattern = "*";
  return e;
}

class MergeJobFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.path() / "bucket");
    store_ = std::make_unique<LocalObjectStore>(dir_.path() / "bucket");
    auto w = DuckDbWarehouse::Open({dir_.path() / "w.duckdb"}, entity_);
    ASSERT_TRUE(w.ok()) << w.error().message;
    warehouse_ = std::move(*w);
    options_.index_snapshot = dir_.path() / "w.keys";
  }

  // Loads a file of `keys` keys, each with a version that `n` opens (an SCD2 change after the first file).
  void Load(const std::string& name, int keys, int n) {
    std::ofstream out(dir_.path() / "bucket" / name, std::ios::binary);
    out << "code,label,color,n\n";
    for (int k = 1; k <= keys; ++k) {
      out << k << ",L" << n << ",C" << n << "," << n << "\n";
    }
    out.close();
    Loader loader(LoaderOptions{}, entity_, *store_, nullptr, *warehouse_);
    auto info = store_->Stat(ObjectKey(name));
    ASSERT_TRUE(info.ok());
    auto loaded = loader.LoadObject(*info);
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  }

  // How many key ids a new job's Warm reads from the warehouse (0: all from the snapshot).
  uint64_t KeysReadAtStart() {
    MergeJob job(entity_, *warehouse_, options_);
    Status warm = job.Warm();
    EXPECT_TRUE(warm.ok()) << warm.error().message;
    return job.stats().keys_read_at_warm;
  }

  test_support::TestDir dir_{"dimstream_merge_job"};
  EntitySpec entity_ = Items();
  std::unique_ptr<LocalObjectStore> store_;
  std::unique_ptr<DuckDbWarehouse> warehouse_;
  MergeOptions options_;
};

}  // namespace dimstream::test_support
