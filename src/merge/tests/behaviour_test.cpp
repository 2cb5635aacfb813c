// Runs every behaviour case in cases/ through the real loader, merge and a DuckDB file.
//
// A case file is plain text in sections:
//   --- file NAME      CSV content put into the bucket as object NAME and loaded (in file order)
//   --- merge          one merge run
//   --- history        the expected customer_history rows (CSV; only the columns named in the header are
//   --- current        compared, rows in key, valid_from order); "@NAME" stands for the load commit time
//   --- rejects        of object NAME, the sequence of its rows when the file has no updated_at column
//                      (rejects: rows in object_key, line order)
//   --- retention DAYS the following merge runs keep DAYS of log (merge.log_retention_days)
//   --- entity         (first, optional) the entity as a configuration declares it: an [entity] table in
//                      TOML; without it, the built-in customer entity
//   --- key_id_bits N  (optional) keep N bits of each key id, so that keys collide in the key index
// Lines starting with '#' before the first section describe the case.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "common/csv_reader.h"
#include "common/stop.h"
#include "config/config.h"
#include "loader/loader.h"
#include "merge/check.h"
#include "merge/merge.h"
#include "object_store/local_object_store.h"
#include "warehouse/duckdb/duckdb_warehouse.h"
#include "warehouse/sql.h"

namespace dimstream {
namespace {

struct Section {
  std::string kind;  // file, merge, history, current
  std::string arg;
  std::string body;
};

std::vector<Section> ReadCase(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<Section> sections;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("--- ", 0) == 0) {
      std::istringstream words(line.substr(4));
      Section s;
      words >> s.kind >> s.arg;
      sections.push_back(s);
    } else if (!sections.empty()) {
      sections.back().body += line + "\n";
    }
  }
  return sections;
}

std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  CsvReader reader(text);
  CsvRecord r;
  std::string error;
  while (reader.Next(r, &error) == CsvStatus::kRecord) {
    rows.emplace_back(r.fields.begin(), r.fields.end());
  }
  return rows;
}

class BehaviourTest : public ::testing::TestWithParam<std::filesystem::path> {};

TEST_P(BehaviourTest, MatchesExpectedTables) {
  const auto& path = GetParam();
  auto dir = std::filesystem::temp_directory_path() / ("dimstream_case_" + path.stem().string());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "bucket");
  std::vector<Section> sections = ReadCase(path);
  EntitySpec entity;
  for (const Section& s : sections) {
    if (s.kind == "entity") {
      auto config = ParseConfig(s.body, path.filename().string());
      ASSERT_TRUE(config.ok()) << config.error().message;
      entity = config->entities.front();
    } else if (s.kind == "key_id_bits") {
      entity.key_id_bits = static_cast<unsigned>(std::stoul(s.arg));
    }
  }
  LocalObjectStore store(dir / "bucket");
  auto opened = DuckDbWarehouse::Open({dir / "w.duckdb"}, entity);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  DuckDbWarehouse& warehouse = **opened;
  Loader loader(LoaderOptions{}, entity, store, nullptr, warehouse);
  MergeOptions merge_options;
  merge_options.index_snapshot = dir / "w.keys";
  auto merge = std::make_unique<MergeJob>(entity, warehouse, merge_options);
  bool retention = false;
  bool idled = false;

  std::string keys = IdentList(entity.key_columns);
  std::string order = keys + ", " + IdentList([&] {
                        std::vector<std::string> v = {"valid_from"};
                        for (const auto& c : entity.extra_sequence_columns()) {
                          v.push_back("valid_from_" + c);
                        }
                        return v;
                      }());
  for (const Section& s : sections) {
    if (s.kind == "entity" || s.kind == "key_id_bits") {
      continue;
    }
    if (s.kind == "file") {
      std::ofstream(dir / "bucket" / s.arg, std::ios::binary) << s.body;
      auto info = store.Stat(ObjectKey(s.arg));
      ASSERT_TRUE(info.ok());
      auto r = loader.LoadObject(*info);
      ASSERT_TRUE(r.ok()) << r.error().message;
    } else if (s.kind == "merge") {
      auto r = merge->RunOnce();
      ASSERT_TRUE(r.ok()) << r.error().message;
      if (!idled) {
        // Once, an idle run: it checkpoints and saves the key index, which later runs make stale.
        idled = true;
        ASSERT_TRUE(merge->RunOnce().ok());
      }
    } else if (s.kind == "retention") {
      merge_options.log_retention_us = std::stoll(s.arg) * 86400 * 1000000;
      merge = std::make_unique<MergeJob>(entity, warehouse, merge_options);
      retention = true;
    } else if (s.kind == "history" || s.kind == "current" || s.kind == "rejects") {
      auto expected = ParseCsv(s.body);
      ASSERT_FALSE(expected.empty()) << "section " << s.kind << " needs a header";
      std::vector<std::string> columns = expected.front();
      std::string table = s.kind == "history"   ? entity.history_table()
                          : s.kind == "current" ? entity.current_table()
                                                : entity.rejects_table();
      auto actual =
          warehouse.Query("SELECT " + IdentList(columns) + " FROM " + QuoteIdent(table) + " ORDER BY " +
                          (s.kind == "rejects" ? std::string("object_key, line") : order));
      ASSERT_TRUE(actual.ok()) << actual.error().message;
      std::vector<std::vector<std::string>> got;
      for (const auto& row : actual->rows) {
        std::vector<std::string> cells;
        for (const auto& v : row) {
          cells.push_back(v.value_or(""));
        }
        got.push_back(cells);
      }
      std::vector<std::vector<std::string>> want(expected.begin() + 1, expected.end());
      for (auto& row : want) {
        for (auto& cell : row) {
          if (cell.rfind('@', 0) == 0) {
            auto t = warehouse.Query("SELECT sequence_time FROM load_history WHERE object_key = " +
                                     QuoteLiteral(cell.substr(1)));
            ASSERT_TRUE(t.ok() && t->rows.size() == 1) << "no load of " << cell;
            cell = *t->rows[0][0];
          }
        }
      }
      EXPECT_EQ(got, want) << s.kind << " of " << path.filename();
    } else {
      FAIL() << "unknown section '" << s.kind << "' in " << path;
    }
  }
  auto failures = CheckInvariants(warehouse, entity);
  ASSERT_TRUE(failures.ok());
  EXPECT_TRUE(failures->empty()) << failures->front();
  // The index the runs kept up to date, the one a restart reads from the (stale) snapshot and brings up to
  // date, and the one built from the warehouse alone are the same. (After log compaction the first two may
  // remember a newer sequence than the log still holds, which is safe: such a key is refolded.)
  if (!retention) {
    MergeJob restarted(entity, warehouse, merge_options);
    MergeJob scanned(entity, warehouse);
    ASSERT_TRUE(restarted.Warm().ok());
    ASSERT_TRUE(scanned.Warm().ok());
    auto dump = [](const KeyIndex& index) {
      std::map<uint64_t, KeyState> out;
      index.ForEach([&](uint64_t key, const KeyState& state) { out[key] = state; });
      return out;
    };
    auto truth = dump(scanned.index());
    EXPECT_FALSE(truth.empty());
    EXPECT_TRUE(dump(merge->index()) == truth) << "the index the runs kept differs from the warehouse's";
    EXPECT_TRUE(dump(restarted.index()) == truth) << "the index read from the snapshot differs";
  }
  // Rebuilding from the retained log gives the same tables.
  const std::string snapshot =
      "SELECT * EXCLUDE (_updated_arrival) FROM " + QuoteIdent(entity.history_table()) + " ORDER BY " + order;
  auto before = warehouse.Query(snapshot);
  auto rebuilt = merge->Rebuild();
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().message;
  EXPECT_EQ(rebuilt->versions_opened + rebuilt->versions_closed + rebuilt->scd1_updates, 0u);
  auto after = warehouse.Query(snapshot);
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_EQ(before->rows, after->rows) << "rebuild changed the history";
  opened = Error::NotFound("closed");
  std::filesystem::remove_all(dir);
}

std::vector<std::filesystem::path> Cases() {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(DIMSTREAM_CASES_DIR)) {
    if (e.path().extension() == ".case") {
      out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

INSTANTIATE_TEST_SUITE_P(Cases, BehaviourTest, ::testing::ValuesIn(Cases()),
                         [](const auto& p) { return p.param.stem().string(); });

}  // namespace
}  // namespace dimstream
