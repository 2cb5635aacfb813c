#include "warehouse/postgres/pg_merge_log.h"

#include <fmt/format.h>

#include "common/clock.h"
#include "warehouse/postgres/pg_load_session.h"
#include "warehouse/postgres/pg_stage.h"
#include "warehouse/postgres/pg_values.h"
#include "warehouse/sql.h"

namespace dimstream::pg {
namespace {

Param Text(int64_t v) {
  return std::to_string(v);
}

// Records from a query whose columns are _kid, _seq_key, _arrival, _op, _scd1_hash, _scd2_hash.
Status ReadRecords(PgConnection& conn, const std::string& sql,
                   const std::function<void(const MergeRecord&)>& sink) {
  auto r = conn.Exec(sql, {}, "read records");
  if (!r.ok()) {
    return r.error();
  }
  for (int i = 0; i < r->rows(); ++i) {
    sink(RecordAt(*r, i));
  }
  return Ok();
}

// `<entity>_raw`: the loaded rows above the watermark, with the columns SEMANTICS.md section 7 names (the
// rows' arrival positions come from their loads' ids, known once committed). `<entity>_stage`: the same
// shape, empty (a run stages into a temporary table of its own, pg_stage.h).
Status CreateRawViews(PgConnection& conn, const EntitySpec& entity) {
  std::string inputs;
  for (const std::string& c : entity.input_columns()) {
    inputs += "r." + QuoteIdent(c) + ", ";
  }
  // A view's text takes no parameters: the job's name is a literal.
  DIMSTREAM_TRY(conn.Run(
      fmt::format(
          "CREATE OR REPLACE VIEW {} AS SELECT {}h.object_key AS _object_key, r._line, (h.load_id << "
          "32) | r._line AS _arrival, h.loaded_at AS _loaded_at, r._op FROM {} r JOIN load_history h ON "
          "h.load_ref = r._load_ref WHERE h.load_id IS NOT NULL AND ((h.load_id << 32) | r._line) > "
          "coalesce((SELECT parameter_value::BIGINT FROM parameter_control WHERE job_name = {} AND "
          "parameter_name = {}), 0)",
          QuoteIdent(entity.raw_table()), inputs, QuoteIdent(RawRowsTable(entity)),
          QuoteLiteral(entity.merge_job()), QuoteLiteral(kWatermarkParameter)),
      {}, "create the view " + entity.raw_table()));
  return conn.Run(fmt::format("CREATE OR REPLACE VIEW {} AS SELECT * FROM {} WHERE false",
                              QuoteIdent(entity.stage_table()), QuoteIdent(entity.raw_table())),
                  {}, "create the view " + entity.stage_table());
}

}  // namespace

Param TimeParam(Micros t) {
  return FormatTimestamp(t);
}

std::string AndSameKey(const EntitySpec& entity, const std::string& a, const std::string& b) {
  std::string out;
  for (const std::string& c : entity.key_columns) {
    out += fmt::format(" AND {}.{} = {}.{}", a, QuoteIdent(c), b, QuoteIdent(c));
  }
  return out;
}

MergeRecord RecordAt(const PgResult& r, int row) {
  MergeRecord rec;
  rec.key_id = static_cast<uint64_t>(r.Int(row, 0));  // 0 for NULL
  rec.seq = DecodeBytea(r.Text(row, 1));
  rec.arrival = r.Int(row, 2);
  const std::string_view op = r.Text(row, 3);
  rec.op = op == "D" ? Operation::kDelete : op == "T" ? Operation::kTruncate : Operation::kUpsert;
  rec.scd1_hash = static_cast<uint64_t>(r.Int(row, 4));
  rec.scd2_hash = static_cast<uint64_t>(r.Int(row, 5));
  return rec;
}

std::string DecodeBytea(std::string_view text) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  std::string out;
  if (!text.starts_with("\\x")) {
    return out;
  }
  for (size_t i = 2; i + 1 < text.size(); i += 2) {
    out.push_back(static_cast<char>(nibble(text[i]) << 4 | nibble(text[i + 1])));
  }
  return out;
}

Status EnsureMergeTables(PgConnection& conn, const EntitySpec& entity) {
  DIMSTREAM_TRY(
      conn.Run("CREATE TABLE IF NOT EXISTS parameter_control (job_name TEXT, parameter_name TEXT, "
               "parameter_value TEXT, updated_at TIMESTAMP, PRIMARY KEY (job_name, parameter_name))",
               {}, "create parameter_control"));
  DIMSTREAM_TRY(conn.Run(
      "CREATE TABLE IF NOT EXISTS task_history (task_name TEXT, started_at TIMESTAMP, finished_at TIMESTAMP, "
      "status TEXT, rows_in BIGINT, rows_staged BIGINT, keys BIGINT, versions_opened BIGINT, versions_closed "
      "BIGINT, scd1_updates BIGINT, rows_rejected BIGINT, watermark_from BIGINT, watermark_to BIGINT, error "
      "TEXT)",
      {}, "create task_history"));
  // A staged row's columns, without its rows: the log and truncates are made like them.
  const std::string raw = QuoteIdent(RawRowsTable(entity));
  const std::string seq_type = PgTypeName(entity.sequence_type());
  for (const std::string& table : {entity.log_table(), entity.truncates_table()}) {
    DIMSTREAM_TRY(conn.Run(
        fmt::format("CREATE TABLE IF NOT EXISTS {} AS SELECT r.*, 0::BIGINT AS _arrival, NULL::TIMESTAMP AS "
                    "_loaded_at, NULL::TEXT AS _object_key, NULL::{} AS _seq FROM {} r WITH NO DATA",
                    QuoteIdent(table), seq_type, raw),
        {}, "create " + table));
  }
  const std::string log = QuoteIdent(entity.log_table());
  DIMSTREAM_TRY(conn.Run(fmt::format("CREATE UNIQUE INDEX IF NOT EXISTS {} ON {} (_arrival)",
                                     QuoteIdent(entity.log_table() + "_arrival"), log),
                         {}, "index " + entity.log_table()));
  // A key id's records in sequence order: a fold's read, and the newest sequence of each key id.
  DIMSTREAM_TRY(conn.Run(fmt::format("CREATE INDEX IF NOT EXISTS {} ON {} (_kid, _seq_key)",
                                     QuoteIdent(entity.log_table() + "_kid"), log),
                         {}, "index " + entity.log_table()));
  return CreateRawViews(conn, entity);
}

Result<std::optional<int64_t>> ReadJobParameter(PgConnection& conn, const EntitySpec& entity,
                                                const std::string& name) {
  auto r = conn.Exec(
      "SELECT parameter_value::BIGINT FROM parameter_control WHERE job_name = $1 AND parameter_name = $2",
      {entity.merge_job(), name}, "read the parameter " + name);
  if (!r.ok()) {
    return r.error();
  }
  if (r->rows() == 0 || r->IsNull(0, 0)) {
    return std::optional<int64_t>();
  }
  return std::optional<int64_t>(r->Int(0, 0));
}

Status WriteJobParameter(PgConnection& conn, const EntitySpec& entity, const std::string& name,
                         int64_t value) {
  return conn.Run(
      "INSERT INTO parameter_control VALUES ($1, $2, $3, $4) ON CONFLICT (job_name, parameter_name) DO "
      "UPDATE "
      "SET parameter_value = excluded.parameter_value, updated_at = excluded.updated_at",
      {entity.merge_job(), name, Text(value), TimeParam(NowMicros())}, "write the parameter " + name);
}

Status InsertTask(PgConnection& conn, const TaskRecord& t) {
  auto n = [](uint64_t v) { return Param(std::to_string(v)); };
  return conn.Run(
      "INSERT INTO task_history VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
      {t.task_name, TimeParam(t.started_at), TimeParam(t.finished_at), t.status, n(t.rows_in),
       n(t.rows_staged), n(t.keys), n(t.versions_opened), n(t.versions_closed), n(t.scd1_updates),
       n(t.rows_rejected), Text(t.watermark_from), Text(t.watermark_to),
       t.error.empty() ? Param() : Param(t.error)},
      "record the run");
}

Status ReadStagedRecords(PgConnection& conn, bool truncates,
                         const std::function<void(const MergeRecord&)>& sink) {
  const std::string columns = "_kid, _seq_key, _arrival, _op, _scd1_hash, _scd2_hash";
  return ReadRecords(
      conn,
      truncates
          ? fmt::format("SELECT {} FROM {} WHERE _op = 'T' ORDER BY _seq_key, _arrival", columns, kStageTable)
          : fmt::format("SELECT {} FROM {} WHERE _op <> 'T' ORDER BY {}, _seq_key, _arrival", columns,
                        kStageTable, kUnsignedKid),
      sink);
}

Status ReadMergedTruncates(PgConnection& conn, const EntitySpec& entity,
                           const std::function<void(const MergeRecord&)>& sink) {
  return ReadRecords(
      conn,
      fmt::format("SELECT NULL::BIGINT, _seq_key, _arrival, 'T', 0, 0 FROM {} ORDER BY _seq_key, "
                  "_arrival",
                  QuoteIdent(entity.truncates_table())),
      sink);
}

Status AppendStageToLog(PgConnection& conn, const EntitySpec& entity, bool look_for_superseded,
                        const std::string& staged_scope) {
  const std::string log = QuoteIdent(entity.log_table());
  const std::string truncates = QuoteIdent(entity.truncates_table());
  if (look_for_superseded) {
    DIMSTREAM_TRY(
        conn.Run(fmt::format("DELETE FROM {} l USING {} s WHERE s._op <> 'T'{} AND l._kid = s._kid{} AND "
                             "l._seq_key = s._seq_key",
                             log, kStageTable, staged_scope, AndSameKey(entity, "l", "s")),
                 {}, "drop the log's records the stage supersedes"));
  }
  DIMSTREAM_TRY(conn.Run(fmt::format("INSERT INTO {} SELECT * FROM {} WHERE _op <> 'T'", log, kStageTable),
                         {}, "append the staged records to the log"));
  DIMSTREAM_TRY(
      conn.Run(fmt::format("DELETE FROM {} t USING {} s WHERE s._op = 'T' AND t._seq_key = s._seq_key",
                           truncates, kStageTable),
               {}, "drop the truncates the stage supersedes"));
  return conn.Run(fmt::format("INSERT INTO {} SELECT * FROM {} WHERE _op = 'T'", truncates, kStageTable), {},
                  "append the staged truncates");
}

}  // namespace dimstream::pg
