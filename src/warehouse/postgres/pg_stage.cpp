#include "warehouse/postgres/pg_stage.h"

#include <limits>

#include <fmt/format.h>

#include "warehouse/postgres/pg_load_session.h"
#include "warehouse/sql.h"

namespace dimstream::pg {
namespace {

// A raw row's arrival position, from its load's id (load_history h) and its line (raw r).
constexpr const char* kArrival = "((h.load_id << 32) | r._line)";

// A raw row's sequence as valid_from and valid_to show it: its first sequence column, or its load's commit
// time where that is the sequence (SEMANTICS.md section 4).
std::string SequenceValue(const EntitySpec& entity) {
  if (entity.sequence_columns.empty()) {
    return "h.loaded_at";
  }
  const std::string first = "r." + QuoteIdent(entity.sequence_columns.front());
  return entity.sequence_falls_back_to_load_time() ? fmt::format("coalesce({}, h.loaded_at)", first) : first;
}

}  // namespace

Result<StageResult> StageRaw(PgConnection& conn, const EntitySpec& entity, int64_t watermark,
                             uint64_t max_rows) {
  const std::string raw = QuoteIdent(RawRowsTable(entity));
  // The rows above the watermark are the later lines of its load and the rows of later loads: bounds on the
  // load ids ($3, $4) let the planner read only their rows of raw (its index on _load_ref), however many
  // loads wait behind them.
  const std::string from = fmt::format(
      "{} r JOIN load_history h ON h.load_ref = r._load_ref WHERE h.load_id IS NOT NULL AND h.load_id >= $3 "
      "AND h.load_id <= $4 AND {} > $1",
      raw, kArrival);
  const int64_t first_load = watermark >> 32;
  int64_t last_load = std::numeric_limits<int64_t>::max();
  StageResult result;
  int64_t upto = std::numeric_limits<int64_t>::max();
  if (max_rows > 0) {
    // The first load by which the loads after the watermark's hold more than max_rows rows: the run stops
    // in it or before.
    auto bound = conn.Exec(
        "SELECT load_id FROM (SELECT load_id, sum(coalesce(rows_loaded, 0)) OVER (ORDER BY load_id) AS n "
        "FROM load_history WHERE entity = $1 AND load_id > $2) s WHERE n > $3 ORDER BY load_id LIMIT 1",
        {entity.name, std::to_string(first_load), std::to_string(max_rows)}, "find the loads of the run");
    if (!bound.ok()) {
      return bound.error();
    }
    if (bound->rows() > 0) {
      last_load = bound->Int(0, 0);
    }
    // The arrival of the max_rows-th row above the watermark, if there are more: the run stops there.
    auto cut = conn.Exec(fmt::format("SELECT {} FROM {} ORDER BY 1 LIMIT 1 OFFSET $2", kArrival, from),
                         {std::to_string(watermark), std::to_string(max_rows), std::to_string(first_load),
                          std::to_string(last_load)},
                         "find where the run stops");
    if (!cut.ok()) {
      return cut.error();
    }
    if (cut->rows() > 0) {
      upto = cut->Int(0, 0) - 1;  // arrivals are unique: the row past the first max_rows is not taken
      last_load = upto >> 32;
      result.more = true;
    }
  }
  // The raw row's columns in their order (the log is made like the stage), where a load without sequence
  // columns has its commit time as the sequence, encoded as OrderedTimestamp does: the microseconds' 8
  // bytes, big-endian, the sign bit flipped.
  std::string columns;
  for (const std::string& c : entity.input_columns()) {
    columns += "r." + QuoteIdent(c) + ", ";
  }
  columns +=
      "r._load_ref, r._line, r._op, r._kid, coalesce(r._seq_key, int8send(((extract(epoch FROM h.loaded_at) "
      "* 1000000)::bigint) # (-9223372036854775807 - 1))) AS _seq_key, r._scd1_hash, r._scd2_hash";
  DIMSTREAM_TRY(conn.Run(fmt::format("DROP TABLE IF EXISTS {}", kStageTable), {}, "drop the stage"));
  DIMSTREAM_TRY(conn.Run(
      fmt::format("CREATE TEMP TABLE {0} ON COMMIT DROP AS SELECT {4}, {1} AS _arrival, h.loaded_at AS "
                  "_loaded_at, h.object_key AS _object_key, {3} AS _seq FROM {2} AND {1} <= $2",
                  kStageTable, kArrival, from, SequenceValue(entity), columns),
      {std::to_string(watermark), std::to_string(upto), std::to_string(first_load),
       std::to_string(last_load)},
      "stage the raw rows"));
  auto counts =
      conn.Exec(fmt::format("SELECT count(*), coalesce(max(_arrival), $1), coalesce((extract(epoch FROM "
                            "max(_loaded_at)) * 1000000)::bigint, 0) FROM {}",
                            kStageTable),
                {std::to_string(watermark)}, "count the staged rows");
  if (!counts.ok()) {
    return counts.error();
  }
  result.rows_in = static_cast<uint64_t>(counts->Int(0, 0));
  result.new_watermark = counts->Int(0, 1);
  result.newest_loaded_at = counts->Int(0, 2);
  // The latest arrival of each key and sequence wins; a truncate has no key, so truncates of one sequence
  // supersede each other.
  std::string key;
  for (const std::string& c : entity.key_columns) {
    key += fmt::format("CASE WHEN _op = 'T' THEN NULL ELSE {} END, ", QuoteIdent(c));
  }
  DIMSTREAM_TRY(conn.Run(
      fmt::format(
          "DELETE FROM {0} WHERE _arrival IN (SELECT _arrival FROM (SELECT _arrival, row_number() OVER "
          "(PARTITION BY _op = 'T', {1}_seq_key ORDER BY _arrival DESC) AS n FROM {0}) w WHERE n > 1)",
          kStageTable, key),
      {}, "drop the superseded staged rows"));
  auto staged = conn.Exec(fmt::format("SELECT count(*) FROM {}", kStageTable), {}, "count the staged rows");
  if (!staged.ok()) {
    return staged.error();
  }
  result.rows_staged = static_cast<uint64_t>(staged->Int(0, 0));
  // The run's statements find records by arrival and key id (the values' statistics would cost more than
  // the rest of a small run).
  DIMSTREAM_TRY(PrepareTemp(conn, kStageTable, "_arrival", /*unique=*/true, "_arrival, _kid, _op"));
  return result;
}

Status PrepareTemp(PgConnection& conn, const char* table, const char* column, bool unique,
                   const std::string& analysed) {
  DIMSTREAM_TRY(conn.Run(fmt::format("CREATE {}INDEX ON {} ({})", unique ? "UNIQUE " : "", table, column), {},
                         fmt::format("index {}", table)));
  return conn.Run(fmt::format("ANALYZE {}{}", table, analysed.empty() ? "" : " (" + analysed + ")"), {},
                  fmt::format("analyse {}", table));
}

}  // namespace dimstream::pg
