#include "warehouse/postgres/pg_leases.h"

namespace dimstream::pg {

Status CreateProcessTables(PgConnection& conn) {
  DIMSTREAM_TRY(
      conn.Run("CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, "
               "acquired_at TIMESTAMPTZ NOT NULL, expires_at TIMESTAMPTZ NOT NULL)",
               {}, "create leases"));
  DIMSTREAM_TRY(
      conn.Run("CREATE TABLE IF NOT EXISTS process_heartbeats (process TEXT PRIMARY KEY, role TEXT "
               "NOT NULL, host TEXT NOT NULL, pid BIGINT NOT NULL, detail TEXT, started_at "
               "TIMESTAMPTZ NOT NULL, beat_at TIMESTAMPTZ NOT NULL)",
               {}, "create process_heartbeats"));
  // Processes gone for a day are forgotten when a process opens the warehouse, rather than at every beat:
  // `status` lists the ones that may still matter.
  DIMSTREAM_TRY(
      conn.Run("DELETE FROM process_heartbeats WHERE beat_at < clock_timestamp() - interval '1 day'", {},
               "forget old heartbeats"));
  // Times in UTC without a zone, as every other table shows them.
  return conn.Run(
      "CREATE OR REPLACE VIEW processes AS SELECT p.process, p.role, p.host, p.pid, "
      "(p.started_at AT TIME ZONE 'UTC') AS started_at, (p.beat_at AT TIME ZONE 'UTC') AS beat_at, "
      "round(extract(epoch FROM clock_timestamp() - p.beat_at)::numeric, 1) AS seconds_since_beat, "
      "(SELECT string_agg(l.name, ', ' ORDER BY l.name) FROM leases l WHERE l.holder = p.process AND "
      "l.expires_at > clock_timestamp()) AS leases, p.detail FROM process_heartbeats p",
      {}, "create the processes view");
}

Result<bool> HoldLease(PgConnection& conn, const std::string& name, const std::string& holder,
                       std::chrono::milliseconds ttl, std::string* previous) {
  // One statement: the row is taken, renewed or left alone atomically (the row lock of ON CONFLICT), and
  // READ COMMITTED re-reads a row that another holder renewed while this waited for it.
  auto r = conn.Exec(
      "WITH before AS (SELECT holder FROM leases WHERE name = $1) "
      "INSERT INTO leases AS l (name, holder, acquired_at, expires_at) VALUES ($1, $2, clock_timestamp(), "
      "clock_timestamp() + $3::bigint * interval '1 millisecond') ON CONFLICT (name) DO UPDATE SET holder = "
      "excluded.holder, expires_at = excluded.expires_at, acquired_at = CASE WHEN l.holder = excluded.holder "
      "THEN l.acquired_at ELSE excluded.acquired_at END WHERE l.holder = excluded.holder OR l.expires_at < "
      "clock_timestamp() RETURNING (SELECT holder FROM before)",
      {name, holder, std::to_string(ttl.count())}, "take the lease " + name);
  if (!r.ok()) {
    return r.error();
  }
  if (previous != nullptr) {
    previous->clear();
    if (r->rows() == 0) {
      auto held = conn.Exec("SELECT holder FROM leases WHERE name = $1", {name}, "read the lease " + name);
      if (held.ok() && held->rows() == 1) {
        *previous = held->Text(0, 0);
      }
    } else if (!r->IsNull(0, 0)) {
      *previous = r->Text(0, 0);
    }
  }
  return r->rows() == 1;
}

Status ReleaseLease(PgConnection& conn, const std::string& name, const std::string& holder) {
  return conn.Run("DELETE FROM leases WHERE name = $1 AND holder = $2", {name, holder},
                  "give up the lease " + name);
}

Status Beat(PgConnection& conn, const ProcessBeat& beat) {
  return conn.Run(
      "INSERT INTO process_heartbeats AS p (process, role, host, pid, detail, started_at, beat_at) VALUES "
      "($1, "
      "$2, $3, $4, $5, clock_timestamp(), clock_timestamp()) ON CONFLICT (process) DO UPDATE SET detail = "
      "excluded.detail, beat_at = excluded.beat_at",
      {beat.process, beat.role, beat.host, std::to_string(beat.pid), beat.detail}, "record a heartbeat");
}

}  // namespace dimstream::pg
