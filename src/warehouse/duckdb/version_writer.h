#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "warehouse/duckdb/duckdb_handles.h"
#include "warehouse/duckdb/entity_tables.h"
#include "warehouse/merge_session.h"

namespace dimstream::duck {

// Temporary tables of a merge session (its connection's own), and how a statement names one.
inline constexpr const char* kListedKeys = "dimstream_listed_keys";
// The run's versions (VersionWriter::AddVersions) and edits of versions open before it (AddEdits).
inline constexpr const char* kIncrement = "dimstream_increment";
inline constexpr const char* kEdits = "dimstream_edits";
inline std::string Temp(const char* name) {
  return std::string("temp.") + name;
}

// Writes a merge run's versions into an entity's history and current tables, set-based: the run's changes go
// in as small temporary tables of arrivals, and the values are copied inside DuckDB from the records the
// versions name, never through this process. With a compact sequence, valid_from and valid_to come typed
// from the versions' own encodings; otherwise from the records (and a rewritten version's from its old row).
// Used by the merge session on its connection, inside its transaction.
class VersionWriter {
 public:
  VersionWriter(Connection& conn, const EntityTables& tables) : conn_(conn), t_(tables) {}

  // See MergeSession::AddVersions, AddEdits and ApplyIncrement: the edits of versions open before the run,
  // checked by key columns where key ids are hashes, then the added versions from stage.
  Status AddVersions(std::span<const Version> versions);
  Status AddEdits(std::span<const OpenVersionEdit> edits);
  Result<std::vector<uint64_t>> ApplyIncrement(bool rewrite_in_place);
  // Ends the run's parts: the tables kIncrement (opened, updated, scd1, closed, del[, vf, vt]) and kEdits
  // (kid, opened, ref, closed, del) exist, possibly empty, for the statements that apply them.
  Status CloseParts();
  // Appends `versions` (values from `records`, a table or temporary table of log rows) to history and the
  // open ones to current.
  Status AppendFromLog(const std::vector<Version>& versions, const std::string& records);
  // Log rows, as base records, for the versions `base` (values from the log): see
  // MergeSession::ReplaceLogBefore. Written into temp table `into`.
  Status BaseRecords(const std::vector<Version>& base, const std::string& into);
  // See MergeSession::SetScd1OfAllVersions.
  Status SetScd1OfAllVersions(const std::vector<std::pair<uint64_t, int64_t>>& latest, bool in_stage);

  // Appends a key id to a temporary table column of type EntityTables::kid_type.
  static void AppendKid(Appender& app, const EntityTables& t, uint64_t key_id);

 private:
  // The versions into the temporary versions table.
  Status WriteVersions(const std::vector<Version>& versions);
  Status CreateVersionsTable(const char* table);
  Status AppendVersions(const char* table, std::span<const Version> versions);
  // The SELECT of history rows (history) or current rows of the temporary table `versions`.
  std::string VersionRows(const char* versions, const std::string& src, const std::string& closers,
                          bool history, bool replaced) const;
  // History rows of the versions (without those rewritten in place when `skip_rewritten`), current rows of
  // the open ones.
  Status Insert(const char* versions, const std::string& src, const std::string& closers, bool replaced,
                bool skip_rewritten);
  // The UPDATE that rewrites the history rows of the versions open before the run in place (SCD1 changes).
  std::string RewriteInPlace(const std::string& ref_join, const std::string& same_key) const;
  // The key ids of the edits that found no history row of their key.
  Result<std::vector<uint64_t>> Mismatched(const std::string& ref_join, size_t missing,
                                           bool rewrite_in_place);

  Connection& conn_;
  const EntityTables& t_;
  bool increment_open_ = false;  // AddVersions created the run's table
  bool edits_open_ = false;      // AddEdits created the run's table
  size_t closes_ = 0;            // the edits added that close a version
  size_t rewrites_ = 0;          // and those that rewrite one (SCD1)
};

}  // namespace dimstream::duck
