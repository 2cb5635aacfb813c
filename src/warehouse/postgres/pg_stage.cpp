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
  const std::string from = fmt::format(
      "{} r JOIN load_history h ON h.load_ref = r._load_ref WHERE h.load_id IS NOT NULL AND {} > $1", raw,
      kArrival);
  StageResult result;
  int64_t upto = std::numeric_limits<int64_t>::max();
  if (max_rows > 0) {
    // The arrival of the max_rows-th row above the watermark, if there are more: the run stops there.
    auto cut = conn.Exec(fmt::format("SELECT {} FROM {} ORDER BY 1 LIMIT 1 OFFSET $2", kArrival, from),
                         {std::to_string(watermark), std::to_string(max_rows)}, "find where the run stops");
    if (!cut.ok()) {
      return cut.error();
    }
    if (cut->rows() > 0) {
      upto = cut->Int(0, 0) - 1;  // arrivals are unique: the row past the first max_rows is not taken
      result.more = true;
    }
  }
  DIMSTREAM_TRY(conn.Run(fmt::format("DROP TABLE IF EXISTS {}", kStageTable), {}, "drop the stage"));
  DIMSTREAM_TRY(conn.Run(
      fmt::format("CREATE TEMP TABLE {0} ON COMMIT DROP AS SELECT r.*, {1} AS _arrival, h.loaded_at AS "
                  "_loaded_at, h.object_key AS _object_key, {3} AS _seq FROM {2} AND {1} <= $2",
                  kStageTable, kArrival, from, SequenceValue(entity)),
      {std::to_string(watermark), std::to_string(upto)}, "stage the raw rows"));
  // The sequence of a load without sequence columns is its commit time, encoded as OrderedTimestamp does:
  // the microseconds' 8 bytes, big-endian, the sign bit flipped.
  DIMSTREAM_TRY(conn.Run(fmt::format("UPDATE {} SET _seq_key = int8send(((extract(epoch FROM _loaded_at) * "
                                     "1000000)::bigint) # (-9223372036854775807 - 1)) WHERE _seq_key IS NULL",
                                     kStageTable),
                         {}, "give records without a sequence their load's time"));
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
  return result;
}

}  // namespace dimstream::pg
