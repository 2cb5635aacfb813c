#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"
#include "config/entity.h"
#include "merge/tests/case_formats.h"

namespace dimstream {

// A behaviour case (cases/*.case; the format is described in behaviour_test.cpp) as read: its sections in
// order and the entity it runs on.
struct CaseSection {
  std::string kind;  // file, merge, history, current, rejects, retention, entity, key_id_bits
  std::string arg;
  std::string body;
};

struct BehaviourCase {
  std::filesystem::path path;
  std::vector<CaseSection> sections;
  EntitySpec entity;  // the `entity` section's, or the built-in customer entity

  std::vector<CaseFile> files() const;
};

// Where a case runs: a DuckDB file of its own, or a database of its own on the test PostgreSQL (the CTest
// fixture `postgres`).
enum class CaseWarehouse { kDuckDb, kPostgres };

// kInvalidInput when the entity section is not a valid configuration.
Result<BehaviourCase> ReadCase(const std::filesystem::path& path);

// Runs the case through the real loader, merge and warehouse (`where`), in a directory of its own, with its
// files stored in `format`, and checks (as GoogleTest expectations) every expected table, the invariants, the
// key index and a rebuild. The rejects are checked only when the files keep the CSV bytes (CSV, compressed
// CSV): JSON lines and Parquet leave the malformed records out and number rows their own way.
void RunCase(const BehaviourCase& behaviour, CaseFormat format, CaseWarehouse where = CaseWarehouse::kDuckDb);

// The cases in DIMSTREAM_CASES_DIR, in name order.
std::vector<std::filesystem::path> CasePaths();

}  // namespace dimstream
