#pragma once

#include <cstdint>
#include <string>

#include "config/entity.h"
#include "warehouse/merge_session.h"
#include "warehouse/postgres/pg_connection.h"

namespace dimstream::pg {

// The temporary table of a merge run's records (dropped when its transaction ends).
inline constexpr const char* kStageTable = "dimstream_stage";

// Stages a merge run in the open transaction of `conn`: the raw rows of loads committed above `watermark`
// (an arrival position: load id << 32 | line, the load id following commit order, pg_load_ledger.h) into
// kStageTable with their _arrival, _loaded_at, _object_key and _seq (the first sequence column's value, or
// the load's commit time: what valid_from and valid_to show), and _seq_key filled in where the load's commit
// time is the sequence (its ordered encoding, as OrderedTimestamp writes it). Of the records of one key and
// sequence (SEMANTICS.md section 4), and of the truncates of one sequence, only the latest arrival stays.
// With `max_rows` (0: no limit) only the first max_rows raw rows in arrival order are taken, and `more` says
// that raw holds more above the new watermark.
Result<StageResult> StageRaw(PgConnection& conn, const EntitySpec& entity, int64_t watermark,
                             uint64_t max_rows);

// Readies a run's temporary table, filled, for the joins of the run's statements: an index on `column`
// (unique if `unique`) and statistics for the planner, of `analysed` (a column list; empty: every column).
// Autovacuum never analyses temporary tables; without statistics or an index, a misestimated join (two
// conditions taken as independent) can become a nested loop over a whole temporary table for each of
// thousands of rows.
Status PrepareTemp(PgConnection& conn, const char* table, const char* column, bool unique,
                   const std::string& analysed = "");

}  // namespace dimstream::pg
