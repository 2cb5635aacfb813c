#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/types.h"

#include "config/entity.h"
#include "warehouse/merge_session.h"
#include "warehouse/postgres/pg_connection.h"

// The merge's own tables on PostgreSQL and what a run reads from and writes to its log (the rest of a run is
// pg_versions.h and pg_merge_session.h).
namespace dimstream::pg {

// A key id (uint64 kept as BIGINT bits) in unsigned order: the sign bit flipped.
inline constexpr const char* kUnsignedKid = "(_kid # (-9223372036854775807 - 1))";

// A timestamp as a bound parameter.
Param TimeParam(Micros t);

// " AND a.k = b.k" for each key column of `entity`: rows `a` and `b` are of the same key.
std::string AndSameKey(const EntitySpec& entity, const std::string& a, const std::string& b);

// The record in row `row` of a result whose first columns are _kid, _seq_key, _arrival, _op, _scd1_hash,
// _scd2_hash (a NULL key id, a truncate's, is 0).
MergeRecord RecordAt(const PgResult& r, int row);

// Creates parameter_control and task_history, and the entity's log and truncates tables, when they are not
// there, and (re)creates the views `<entity>_raw` (the loaded rows above the watermark) and `<entity>_stage`.
// `<entity>_log`: the merged records a fold reads, with the columns of a staged row (pg_stage.h: the raw rows
// table's, then _arrival, _loaded_at, _object_key, _seq), keyed by _arrival and indexed by key id and
// sequence. `<entity>_truncates`: the merged truncate records, with the same columns.
Status EnsureMergeTables(PgConnection& conn, const EntitySpec& entity);

// A parameter of the entity's merge job in parameter_control ("LETS": the watermark), nullopt when never set.
Result<std::optional<int64_t>> ReadJobParameter(PgConnection& conn, const EntitySpec& entity,
                                                const std::string& name);
Status WriteJobParameter(PgConnection& conn, const EntitySpec& entity, const std::string& name,
                         int64_t value);

// One run into task_history.
Status InsertTask(PgConnection& conn, const TaskRecord& task);

// The staged records of keys (ordered by key id as an unsigned number, sequence, arrival), or with
// `truncates` the staged truncate records (ordered by sequence, arrival).
Status ReadStagedRecords(PgConnection& conn, bool truncates,
                         const std::function<void(const MergeRecord&)>& sink);
// The merged truncate records, ordered by sequence, arrival.
Status ReadMergedTruncates(PgConnection& conn, const EntitySpec& entity,
                           const std::function<void(const MergeRecord&)>& sink);

// The staged records become the log's newest: the merged records they supersede (the same key and
// sequence) leave the log, and staged truncates replace the truncates of their sequence. The superseded
// records are looked for among the staged records that meet `staged_scope` (a condition on the stage `s`,
// after AND; empty: all of them), and not at all when `look_for_superseded` is false.
Status AppendStageToLog(PgConnection& conn, const EntitySpec& entity, bool look_for_superseded,
                        const std::string& staged_scope);

// A bytea as PostgreSQL's text output writes it ("\x0a1b..."), back to its bytes.
std::string DecodeBytea(std::string_view text);

}  // namespace dimstream::pg
