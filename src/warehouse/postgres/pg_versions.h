#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "config/entity.h"
#include "warehouse/merge_session.h"
#include "warehouse/postgres/pg_connection.h"

// How a merge run's versions become rows of history on PostgreSQL (current is a view of its open versions).
// The fold hands over versions that name records by arrival; their values are read here from the records, in
// SQL, by joins on the arrival (the log's unique index, or the run's stage): the values never pass through
// this process.
namespace dimstream::pg {

class PgVersionWriter {
 public:
  PgVersionWriter(PgConnection& conn, const EntitySpec& entity);

  // History rows of `versions`, whose records are in the log (a refold: their old rows are
  // gone already), closed by log records or merged truncates.
  Status AppendFromLog(const std::vector<Version>& versions);
  // The log records that stand for `base` once the log before a horizon goes (MergeSession::
  // ReplaceLogBefore): each the values of its version, the sequence and arrival of its opener. Into a
  // temporary table, `into`, with the log's columns, to be inserted after the deletes.
  Status BaseRecords(const std::vector<Version>& base, const char* into);

  // A run's increment (MergeSession::AddVersions, AddEdits, ApplyIncrement), its records in the stage.
  Status AddVersions(std::span<const Version> versions);
  Status AddEdits(std::span<const OpenVersionEdit> edits);
  Result<std::vector<uint64_t>> ApplyIncrement();

  Status SetScd1OfAllVersions(const std::vector<std::pair<uint64_t, int64_t>>& latest, bool in_stage);

  // The log's columns in its order, for an INSERT that names them.
  std::string LogColumns() const;

 private:
  // A temporary table of versions (opened, updated, scd1, closed, del), created when `create`.
  Status WriteVersions(const char* table, std::span<const Version> versions, bool create);
  // The history rows of the versions in `versions`, values and valid_from from `records`, valid_to from
  // `closers`.
  std::string VersionRows(const char* versions, const std::string& records, const std::string& closers) const;
  // Inserts them, those that meet `where` (a WHERE clause on the versions `v`, or empty).
  Status Insert(const char* versions, const std::string& records, const std::string& closers,
                const std::string& where);
  // Runs an UPDATE of edited versions that must change `expected` rows.
  Status Edit(const std::string& sql, size_t expected, const std::string& what);
  // Where key ids are hashes: the key ids of edits whose version history does not hold under the key of
  // their ref record.
  Result<std::vector<uint64_t>> Mismatched();

  PgConnection& conn_;
  const EntitySpec& e_;
  std::string log_, truncates_, history_;
  std::vector<std::string> extra_seq_;  // quoted sequence columns after the first
  bool increment_open_ = false;
  bool edits_open_ = false;
  size_t closes_ = 0;
  size_t rewrites_ = 0;
};

}  // namespace dimstream::pg
