#include "merge/tests/behaviour_case.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "common/csv_reader.h"
#include "config/config.h"
#include "loader/loader.h"
#include "merge/check.h"
#include "merge/merge.h"
#include "object_store/local_object_store.h"
#include "warehouse/duckdb/duckdb_warehouse.h"
#include "warehouse/postgres/pg_warehouse.h"
#include "warehouse/sql.h"
#include "warehouse/tests/pg_test_database.h"

namespace dimstream {
namespace {

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

}  // namespace

std::vector<CaseFile> BehaviourCase::files() const {
  std::vector<CaseFile> out;
  for (const CaseSection& s : sections) {
    if (s.kind == "file") {
      out.push_back({s.arg, s.body});
    }
  }
  return out;
}

Result<BehaviourCase> ReadCase(const std::filesystem::path& path) {
  BehaviourCase out;
  out.path = path;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("--- ", 0) == 0) {
      std::istringstream words(line.substr(4));
      CaseSection s;
      words >> s.kind >> s.arg;
      out.sections.push_back(s);
    } else if (!out.sections.empty()) {
      out.sections.back().body += line + "\n";
    }
  }
  for (const CaseSection& s : out.sections) {
    if (s.kind == "entity") {
      auto config = ParseConfig(s.body, path.filename().string());
      if (!config.ok()) {
        return config.error();
      }
      out.entity = config->entities.front();
    } else if (s.kind == "key_id_bits") {
      out.entity.key_id_bits = static_cast<unsigned>(std::stoul(s.arg));
    }
  }
  return out;
}

void RunCase(const BehaviourCase& behaviour, CaseFormat format, CaseWarehouse where) {
  const auto& path = behaviour.path;
  const EntitySpec& entity = behaviour.entity;
  const std::string run = path.filename().string() + " as " + std::string(CaseFormatName(format)) +
                          (where == CaseWarehouse::kPostgres ? " on PostgreSQL" : "");
  auto dir = std::filesystem::temp_directory_path() /
             ("dimstream_case_" + path.stem().string() +
              (format == CaseFormat::kCsv ? "" : "_" + std::string(CaseFormatName(format))));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "bucket");
  LocalObjectStore store(dir / "bucket");
  std::unique_ptr<Warehouse> opened;
  pg::testing::TestDatabase database;
  if (where == CaseWarehouse::kPostgres) {
    ASSERT_NO_FATAL_FAILURE(database.Create());
    auto w = PgWarehouse::Open(database.url(), "", {entity});
    ASSERT_TRUE(w.ok()) << w.error().message;
    opened = std::move(*w);
  } else {
    auto w = DuckDbWarehouse::Open({dir / "w.duckdb"}, entity);
    ASSERT_TRUE(w.ok()) << w.error().message;
    opened = std::move(*w);
  }
  Warehouse& warehouse = *opened;
  Loader loader(LoaderOptions{}, entity, store, nullptr, warehouse);
  MergeOptions merge_options;
  merge_options.index_snapshot = dir / "w.keys";
  auto merge = std::make_unique<MergeJob>(entity, warehouse, merge_options);
  bool retention = false;
  bool idled = false;
  // The case's file names -> their object keys in this format.
  std::map<std::string, std::string> stored;
  const bool csv_bytes =
      format == CaseFormat::kCsv || format == CaseFormat::kCsvGz || format == CaseFormat::kCsvZst;

  std::string keys = IdentList(entity.key_columns);
  std::string order = keys + ", " + IdentList([&] {
                        std::vector<std::string> v = {"valid_from"};
                        for (const auto& c : entity.extra_sequence_columns()) {
                          v.push_back("valid_from_" + c);
                        }
                        return v;
                      }());
  for (const CaseSection& s : behaviour.sections) {
    if (s.kind == "entity" || s.kind == "key_id_bits" || (s.kind == "rejects" && !csv_bytes)) {
      continue;
    }
    if (s.kind == "file") {
      std::string key = StoredName(s.arg, format);
      stored[s.arg] = key;
      auto written = WriteConverted(s.body, entity, format, dir / "bucket" / key);
      ASSERT_TRUE(written.ok()) << "cannot write " << key << ": " << written.error().message;
      auto info = store.Stat(ObjectKey(key));
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
            auto it = stored.find(cell.substr(1));
            std::string key = it == stored.end() ? cell.substr(1) : it->second;
            auto t = warehouse.Query("SELECT sequence_time FROM load_history WHERE object_key = " +
                                     QuoteLiteral(key));
            ASSERT_TRUE(t.ok() && t->rows.size() == 1) << "no load of " << key;
            cell = *t->rows[0][0];
          } else if (s.kind == "rejects" && stored.contains(cell)) {
            cell = stored[cell];  // an object_key
          }
        }
      }
      EXPECT_EQ(got, want) << s.kind << " of " << run;
    } else {
      FAIL() << "unknown section '" << s.kind << "' in " << path;
    }
  }
  auto failures = CheckInvariants(warehouse, entity);
  ASSERT_TRUE(failures.ok());
  EXPECT_TRUE(failures->empty()) << failures->front() << " (" << run << ")";
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
  std::vector<std::string> versions = entity.key_columns;
  for (const std::string& c : entity.attribute_columns()) {
    versions.push_back(c);
  }
  for (const char* prefix : {"valid_from", "valid_to"}) {
    versions.push_back(prefix);
    for (const std::string& c : entity.extra_sequence_columns()) {
      versions.push_back(std::string(prefix) + "_" + c);
    }
  }
  for (const char* c : {"is_current", "_ended_by_delete", "_opened_arrival", "_scd1_hash", "_scd2_hash"}) {
    versions.push_back(c);
  }
  const std::string snapshot =
      "SELECT " + IdentList(versions) + " FROM " + QuoteIdent(entity.history_table()) + " ORDER BY " + order;
  auto before = warehouse.Query(snapshot);
  auto rebuilt = merge->Rebuild();
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().message;
  EXPECT_EQ(rebuilt->versions_opened + rebuilt->versions_closed + rebuilt->scd1_updates, 0u);
  auto after = warehouse.Query(snapshot);
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_EQ(before->rows, after->rows) << "rebuild changed the history";
  opened.reset();
  std::filesystem::remove_all(dir);
}

std::vector<std::filesystem::path> CasePaths() {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(DIMSTREAM_CASES_DIR)) {
    if (e.path().extension() == ".case") {
      out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace dimstream
