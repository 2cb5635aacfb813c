#include "warehouse/postgres/pg_load_ledger.h"

#include <fmt/format.h>

#include "common/fault.h"

namespace dimstream::pg {

Status InSchemaTransaction(PgConnection& conn, const std::function<Status()>& create) {
  DIMSTREAM_TRY(conn.Run("BEGIN", {}, "begin creating the schema"));
  Status created = conn.Run("SELECT pg_advisory_xact_lock(7470)", {}, "wait for the schema's lock");
  if (created.ok()) {
    created = create();
  }
  if (created.ok()) {
    return conn.Run("COMMIT", {}, "commit the schema");
  }
  (void)conn.Run("ROLLBACK");
  return created;
}

Status CreateLedgerTables(PgConnection& conn) {
  DIMSTREAM_TRY(conn.Run(
      "CREATE TABLE IF NOT EXISTS load_position (only_row BOOLEAN PRIMARY KEY DEFAULT true CHECK (only_row), "
      "last_load_id BIGINT NOT NULL)",
      {}, "create load_position"));
  DIMSTREAM_TRY(conn.Run("INSERT INTO load_position VALUES (true, 0) ON CONFLICT DO NOTHING", {},
                         "fill load_position"));
  DIMSTREAM_TRY(conn.Run("CREATE SEQUENCE IF NOT EXISTS load_ref_seq", {}, "create load_ref_seq"));
  DIMSTREAM_TRY(conn.Run(
      "CREATE TABLE IF NOT EXISTS load_history (load_id BIGINT UNIQUE, load_ref BIGINT PRIMARY KEY, "
      "object_key TEXT NOT NULL, checksum TEXT NOT NULL, version_tag TEXT, size BIGINT, status TEXT NOT "
      "NULL, "
      "rows_loaded BIGINT, rows_rejected BIGINT, error TEXT, loaded_at TIMESTAMP, sequence_time TIMESTAMP, "
      "entity TEXT, ignored_columns BIGINT, format TEXT, uncompressed_size BIGINT, "
      "UNIQUE (object_key, checksum))",
      {}, "create load_history"));
  return Ok();
}

Result<int64_t> BeginLoadTransaction(PgConnection& conn) {
  DIMSTREAM_TRY(conn.Run("BEGIN", {}, "begin a load"));
  auto ref = conn.Exec("SELECT nextval('load_ref_seq')", {}, "take a load_ref");
  if (!ref.ok()) {
    return ref.error();
  }
  return ref->Int(0, 0);
}

Result<LoadReceipt> CommitLoadRecord(PgConnection& conn, int64_t load_ref, const LoadRecord& record) {
  const LoadSummary& s = record.summary;
  auto text = [](uint64_t n) { return Param(std::to_string(n)); };
  auto inserted = conn.Exec(
      "INSERT INTO load_history (load_ref, object_key, checksum, version_tag, size, status, rows_loaded, "
      "rows_rejected, error, entity, ignored_columns, format, uncompressed_size) VALUES ($1, $2, $3, $4, $5, "
      "$6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (object_key, checksum) DO NOTHING RETURNING load_ref",
      {std::to_string(load_ref), record.object.key.get(), s.checksum.get(), record.object.version_tag,
       text(s.size), s.failed ? "failed" : "loaded", text(s.rows), text(s.rejects),
       s.failed ? Param(s.error) : Param(), record.entity.empty() ? Param() : Param(record.entity),
       text(s.ignored_columns), s.format.empty() ? Param() : Param(s.format), text(s.uncompressed_size)},
      "record the load");
  if (!inserted.ok()) {
    (void)conn.Run("ROLLBACK");
    return inserted.error();
  }
  if (inserted->rows() == 0) {
    DIMSTREAM_TRY(conn.Run("ROLLBACK", {}, "roll back a load done before"));
    return LoadReceipt{LoadOutcome::kAlreadyDone, 0};
  }
  // The load id last: from here to COMMIT this load holds load_position's row, and the next one waits.
  auto id = conn.Exec("UPDATE load_position SET last_load_id = last_load_id + 1 RETURNING last_load_id", {},
                      "take a load id");
  Status numbered =
      id.ok() ? conn.Run(
                    "UPDATE load_history SET load_id = $1, loaded_at = n.t, sequence_time = n.t FROM (SELECT "
                    "clock_timestamp() AT TIME ZONE 'UTC' AS t) n WHERE load_ref = $2",
                    {std::to_string(id->Int(0, 0)), std::to_string(load_ref)}, "number the load")
              : Status(id.error());
  if (!numbered.ok()) {
    (void)conn.Run("ROLLBACK");
    return numbered.error();
  }
  FaultPoint("load.before_commit");
  DIMSTREAM_TRY(conn.Run("COMMIT", {}, "commit the load"));
  FaultPoint("load.after_commit");
  return LoadReceipt{s.failed ? LoadOutcome::kFailed : LoadOutcome::kLoaded, id->Int(0, 0)};
}

}  // namespace dimstream::pg
