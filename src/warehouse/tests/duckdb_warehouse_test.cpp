#include "warehouse/duckdb/duckdb_warehouse.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace dimstream {
namespace {

TEST(DuckDbWarehouseTest, Opens) {
  auto dir = std::filesystem::temp_directory_path() / "dimstream_wh_smoke";
  std::filesystem::remove_all(dir);
  auto w = DuckDbWarehouse::Open({dir / "w.duckdb"}, EntitySpec{});
  ASSERT_TRUE(w.ok()) << w.error().message;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace dimstream
