#include "warehouse/duckdb/duckdb_warehouse.h"

#include <fmt/format.h>

#include "common/checksum.h"
#include "common/clock.h"
#include "common/fault.h"
#include "warehouse/sql.h"

namespace dimstream {
namespace {

using duck::Appender;
using duck::ChunkReader;
using duck::Connected;
using duck::Connection;
using duck::DatabaseKeeper;
using duck::Param;
using duck::QueryResultHandle;
using duck::Timestamp;

constexpr const char* kLoadHistory = "load_history";
constexpr const char* kParameterControl = "parameter_control";
constexpr const char* kTaskHistory = "task_history";
constexpr const char* kWatermarkName = "LETS";
// Temporary tables of a merge session (its connection's own).
constexpr const char* kListedKeys = "dimstream_listed_keys";
constexpr const char* kEdits = "dimstream_edits";
constexpr const char* kVersions = "dimstream_versions";

// Table and column names of one entity, quoted once.
struct Names {
  explicit Names(const EntitySpec& e)
      : key(QuoteIdent(e.key_column())),
        attrs(IdentList(e.attribute_columns())),
        raw(QuoteIdent(e.raw_table())),
        stage(QuoteIdent(e.stage_table())),
        log(QuoteIdent(e.log_table())),
        history(QuoteIdent(e.history_table())),
        current(QuoteIdent(e.current_table())),
        rejects(QuoteIdent(e.rejects_table())),
        op(e.operation_column.empty()
               ? "'U'"
               : fmt::format("CASE WHEN {} = 'D' THEN 'D' ELSE 'U' END", QuoteIdent(e.operation_column))) {}
  std::string key, attrs, raw, stage, log, history, current, rejects, op;
  std::string StagedKeys() const { return fmt::format("{} IN (SELECT {} FROM {})", key, key, stage); }
};

std::string AttrDdl(const EntitySpec& e) {
  std::string out;
  for (const auto& c : e.attribute_columns()) {
    out += ", " + QuoteIdent(c) + " VARCHAR";
  }
  return out;
}

class DuckDbMergeSession : public MergeSession {
 public:
  DuckDbMergeSession(Connected c, DatabaseKeeper& keeper, const EntitySpec& entity)
      : c_(std::move(c)), conn_(*c_.conn), keeper_(keeper), entity_(entity), n_(entity) {}
  ~DuckDbMergeSession() override {
    if (open_) {
      (void)conn_.Exec("ROLLBACK");
    }
  }

  Status Begin() {
    DIMSTREAM_TRY(conn_.Exec("BEGIN TRANSACTION"));
    open_ = true;
    return Ok();
  }

  Result<std::optional<int64_t>> ReadParameter(const std::string& name) override {
    return conn_.ScalarInt(
        fmt::format(
            "SELECT CAST(parameter_value AS BIGINT) FROM {} WHERE job_name = $1 AND parameter_name = $2",
            QuoteIdent(kParameterControl)),
        {entity_.merge_job(), name});
  }

  Status WriteParameter(const std::string& name, int64_t value) override {
    DIMSTREAM_TRY(conn_.Run(fmt::format("DELETE FROM {} WHERE job_name = $1 AND parameter_name = $2",
                                        QuoteIdent(kParameterControl)),
                            {entity_.merge_job(), name}));
    return conn_.Run(fmt::format("INSERT INTO {} VALUES ($1, $2, $3, $4)", QuoteIdent(kParameterControl)),
                     {entity_.merge_job(), name, std::to_string(value), Timestamp{NowMicros()}});
  }

  Result<StageResult> Stage(int64_t watermark) override {
    StageResult r;
    DIMSTREAM_TRY(conn_.Exec("DELETE FROM " + n_.stage));
    QueryResultHandle counts;
    DIMSTREAM_TRY(conn_.Run(
        fmt::format(
            "SELECT count(*), coalesce(max(_arrival), $1), coalesce(epoch_us(max(_loaded_at)), 0) FROM {} "
            "WHERE _arrival > $1",
            n_.raw),
        {watermark}, &counts));
    ChunkReader reader(counts.get());
    reader.ForEach([&](idx_t row) {
      r.rows_in = static_cast<uint64_t>(reader.GetInt64(0, row));
      r.new_watermark = reader.GetInt64(1, row);
      r.newest_loaded_at = reader.GetInt64(2, row);
    });
    if (r.rows_in == 0) {
      return r;
    }
    // A later arrival with the same key and sequence supersedes an earlier one (SEMANTICS.md section 4).
    // Arrivals are unique, so the winners are the maximum arrival of each (key, sequence); a grouped
    // semi-join finds them several times faster than a window function.
    DIMSTREAM_TRY(
        conn_.Run(fmt::format("INSERT INTO {0} SELECT * FROM {1} WHERE _arrival > $1 AND _arrival IN "
                              "(SELECT max(_arrival) FROM {1} WHERE _arrival > $1 GROUP BY {2}, _seq)",
                              n_.stage, n_.raw, n_.key),
                  {watermark}));
    auto staged = conn_.ScalarInt("SELECT count(*) FROM " + n_.stage);
    if (!staged.ok()) {
      return staged.error();
    }
    r.rows_staged = static_cast<uint64_t>(staged->value_or(0));
    return r;
  }

  Result<uint64_t> RejectStagedBefore(Micros horizon, const std::string& reason) override {
    auto late = conn_.ScalarInt(fmt::format("SELECT count(*) FROM {} WHERE _seq < $1", n_.stage),
                                {Timestamp{horizon}});
    if (!late.ok()) {
      return late.error();
    }
    if (late->value_or(0) == 0) {
      return uint64_t{0};
    }
    // The raw text is gone once loaded; the values, comma-separated, say which record it was.
    std::string values = "CAST(" + n_.key + " AS VARCHAR)";
    for (const auto& c : entity_.attribute_columns()) {
      values += " || ',' || coalesce(" + QuoteIdent(c) + ", '')";
    }
    values += " || ',' || strftime(_seq, '%Y-%m-%dT%H:%M:%S.%fZ')";
    DIMSTREAM_TRY(
        conn_.Run(fmt::format("INSERT INTO {} SELECT _object_key, _line, {}, $1, _load_id, $2 FROM {} WHERE "
                              "_seq < $3",
                              n_.rejects, values, n_.stage),
                  {reason, Timestamp{NowMicros()}, Timestamp{horizon}}));
    DIMSTREAM_TRY(
        conn_.Run(fmt::format("UPDATE {0} SET rows_loaded = rows_loaded - r.n, rows_rejected = "
                              "rows_rejected + r.n FROM (SELECT _load_id, count(*) AS n FROM {1} WHERE _seq "
                              "< $1 GROUP BY _load_id) r WHERE {0}.load_id = r._load_id",
                              QuoteIdent(kLoadHistory), n_.stage),
                  {Timestamp{horizon}}));
    DIMSTREAM_TRY(conn_.Run(fmt::format("DELETE FROM {} WHERE _seq < $1", n_.stage), {Timestamp{horizon}}));
    return static_cast<uint64_t>(**late);
  }

  Status ReadStage(const std::function<void(const StagedRecord&)>& sink) override {
    QueryResultHandle r;
    DIMSTREAM_TRY(
        conn_.Run(fmt::format("SELECT {0}, epoch_us(_seq), _arrival, {1} = 'D', _scd1_hash, _scd2_hash FROM "
                              "{2} ORDER BY {0}, _seq, _arrival",
                              n_.key, n_.op, n_.stage),
                  {}, &r));
    ChunkReader reader(r.get());
    reader.ForEach([&](idx_t row) {
      sink(StagedRecord{reader.GetInt64(0, row), reader.GetInt64(1, row), reader.GetInt64(2, row),
                        reader.GetBool(3, row), reader.GetUInt64(4, row), reader.GetUInt64(5, row)});
    });
    return Ok();
  }

  Status ListKeys(const std::vector<int64_t>& keys) override {
    DIMSTREAM_TRY(conn_.Exec("CREATE TEMP TABLE IF NOT EXISTS " + std::string(kListedKeys) + " (k BIGINT)"));
    DIMSTREAM_TRY(conn_.Exec("DELETE FROM temp." + std::string(kListedKeys)));
    listed_ = keys.size();
    Appender app(conn_, "temp", kListedKeys);
    for (int64_t k : keys) {
      app.Int64(k);
      app.EndRow();
    }
    return app.Close();
  }

  Status AppendStageToLog(KeyScope scope) override {
    if (scope != KeyScope::kListed || listed_ > 0) {
      DIMSTREAM_TRY(conn_.Exec(fmt::format(
          "DELETE FROM {0} USING {1} s WHERE {0}.{2} = s.{2} AND {0}._seq = s._seq{3}", n_.log, n_.stage,
          n_.key, scope == KeyScope::kListed ? " AND s." + n_.key + " IN " + ListedKeys() : "")));
    }
    return conn_.Exec(fmt::format("INSERT INTO {} SELECT {}, {}, {}, _seq, _arrival FROM {}", n_.log, n_.key,
                                  n_.attrs, n_.op, n_.stage));
  }

  Result<std::optional<Micros>> NewestLogSequence() override {
    return conn_.ScalarInt("SELECT epoch_us(max(_seq)) FROM " + n_.log);
  }

  Status ReadLogOfKeysBefore(Micros horizon, const std::function<void(LogRecord&&)>& sink) override {
    return ReadLogWhere(
        fmt::format("WHERE {} IN (SELECT {} FROM {} WHERE _seq < $1)", n_.key, n_.key, n_.log),
        {Timestamp{horizon}}, sink);
  }

  Status ReplaceLogBefore(Micros horizon, const std::vector<LogRecord>& base) override {
    DIMSTREAM_TRY(conn_.Run(fmt::format("DELETE FROM {} WHERE _seq < $1", n_.log), {Timestamp{horizon}}));
    Appender log(conn_, entity_.log_table());
    for (const LogRecord& r : base) {
      log.Int64(r.key);
      for (const auto& a : r.attributes) {
        log.OptText(a);
      }
      log.Text(r.is_delete ? "D" : "U");
      log.Time(r.seq);
      log.Int64(r.arrival);
      log.EndRow();
    }
    return log.Close();
  }

  // The WHERE clause that selects the keys of `scope`.
  std::string Where(KeyScope scope) const {
    switch (scope) {
      case KeyScope::kStaged:
        return "WHERE " + n_.StagedKeys();
      case KeyScope::kListed:
        return "WHERE " + n_.key + " IN " + ListedKeys();
      case KeyScope::kAll:
        break;
    }
    return {};
  }

  static std::string ListedKeys() { return "(SELECT k FROM temp." + std::string(kListedKeys) + ")"; }

  Status ReadLog(KeyScope scope, const std::function<void(LogRecord&&)>& sink) override {
    return ReadLogWhere(Where(scope), {}, sink);
  }

  Status ReadLogWhere(const std::string& where, const std::vector<Param>& params,
                      const std::function<void(LogRecord&&)>& sink) {
    return ReadRecords(
        fmt::format("SELECT {}, _seq, _arrival, _op, {} FROM {} {} ORDER BY {}, _seq, _arrival", n_.key,
                    n_.attrs, n_.log, where, n_.key),
        params, sink);
  }

  // Reads records from a query whose columns are key, _seq, _arrival, _op and the attributes.
  Status ReadRecords(const std::string& sql, const std::vector<Param>& params,
                     const std::function<void(LogRecord&&)>& sink) {
    QueryResultHandle r;
    DIMSTREAM_TRY(conn_.Run(sql, params, &r));
    size_t attrs = entity_.attribute_columns().size();
    ChunkReader reader(r.get());
    reader.ForEach([&](idx_t row) {
      LogRecord rec;
      rec.key = reader.GetInt64(0, row);
      rec.seq = reader.GetInt64(1, row);
      rec.arrival = reader.GetInt64(2, row);
      rec.is_delete = reader.GetText(3, row) == "D";
      rec.attributes.reserve(attrs);
      for (size_t a = 0; a < attrs; ++a) {
        rec.attributes.push_back(reader.GetOptText(4 + a, row));
      }
      sink(std::move(rec));
    });
    return Ok();
  }

  Status ReadVersions(KeyScope scope, const std::function<void(Version&&)>& sink) override {
    QueryResultHandle r;
    DIMSTREAM_TRY(conn_.Run(fmt::format("SELECT {}, valid_from, valid_to, _scd1_hash, _scd2_hash FROM {} {}",
                                        n_.key, n_.history, Where(scope)),
                            {}, &r));
    ChunkReader reader(r.get());
    reader.ForEach([&](idx_t row) {
      Version v;
      v.key = reader.GetInt64(0, row);
      v.valid_from = reader.GetInt64(1, row);
      if (!reader.IsNull(2, row)) {
        v.valid_to = reader.GetInt64(2, row);
      }
      v.scd1_hash = reader.GetUInt64(3, row);
      v.scd2_hash = reader.GetUInt64(4, row);
      sink(std::move(v));
    });
    return Ok();
  }

  Status ReplaceVersions(KeyScope scope, const std::vector<Version>& versions) override {
    // Each key's versions from its first retained record on; older ones are frozen by log retention (and
    // without retention the first record opened the first version, so that is all of them).
    DIMSTREAM_TRY(
        conn_.Exec(fmt::format("DELETE FROM {0} USING (SELECT {1} AS k, min(_seq) AS floor FROM {2} {3} "
                               "GROUP BY {1}) f WHERE {0}.{1} = f.k "
                               "AND {0}.valid_from >= f.floor",
                               n_.history, n_.key, n_.log, Where(scope))));
    DIMSTREAM_TRY(conn_.Exec(fmt::format("DELETE FROM {} {}", n_.current, Where(scope))));
    return AppendVersions(versions);
  }

  // History rows for `versions`, and current rows for the open ones.
  Status AppendVersions(const std::vector<Version>& versions) {
    Appender history(conn_, entity_.history_table());
    Appender current(conn_, entity_.current_table());
    // Both tables start with the key, the attributes and valid_from, and end with the lineage columns.
    auto head = [](Appender& app, const Version& v) {
      app.Int64(v.key);
      for (const auto& a : v.attributes) {
        app.OptText(a);
      }
      app.Time(v.valid_from);
    };
    auto lineage = [](Appender& app, const Version& v) {
      app.Int64(v.opened_arrival);
      app.Int64(v.updated_arrival);
      app.UInt64(v.scd1_hash);
      app.UInt64(v.scd2_hash);
      app.EndRow();
    };
    for (const Version& v : versions) {
      head(history, v);
      history.OptTime(v.valid_to);
      history.Bool(!v.valid_to.has_value());
      history.Bool(v.ended_by_delete);
      lineage(history, v);
      if (!v.valid_to) {
        head(current, v);
        lineage(current, v);
      }
    }
    DIMSTREAM_TRY(history.Close());
    return current.Close();
  }

  Status ReadKeyStates(std::optional<int64_t> after_arrival,
                       const std::function<void(const KeyRow&)>& sink) override {
    QueryResultHandle r;
    // The log is appended in arrival order, so its zone maps make the `after` filter skip what is older.
    DIMSTREAM_TRY(conn_.Stream(
        fmt::format(
            "SELECT l.k, epoch_us(l.last_seq), epoch_us(c.valid_from), c._opened_arrival, c._scd1_hash, "
            "c._scd2_hash FROM (SELECT {0} AS k, max(_seq) AS last_seq FROM {1} WHERE _arrival > $1 GROUP "
            "BY {0}) l LEFT JOIN {2} c ON c.{0} = l.k",
            n_.key, n_.log, n_.current),
        {after_arrival.value_or(INT64_MIN)}, &r));
    ChunkReader reader(r.get());
    reader.ForEach([&](idx_t row) {
      KeyRow k;
      k.key = reader.GetInt64(0, row);
      k.last_seq = reader.GetInt64(1, row);
      if (!reader.IsNull(2, row)) {
        k.open_from = reader.GetInt64(2, row);
        k.opened_arrival = reader.GetInt64(3, row);
        k.scd1_hash = reader.GetUInt64(4, row);
        k.scd2_hash = reader.GetUInt64(5, row);
      }
      sink(k);
    });
    return Ok();
  }

  Status ApplyIncrement(const std::vector<VersionClose>& closes,
                        const std::vector<std::pair<int64_t, Micros>>& rewritten,
                        const std::vector<int64_t>& current_keys,
                        const std::vector<Version>& versions) override {
    // Set-based, inside the warehouse: the run's changes go in as small temporary tables of numbers, and
    // the attribute values are copied from stage by joins, never through this process.
    // One temporary table says which rows change: kind 0 closes a history row in place, 1 deletes a
    // history row that is appended again with new values, 2 deletes a current row.
    DIMSTREAM_TRY(conn_.Exec("CREATE TEMP TABLE IF NOT EXISTS " + std::string(kEdits) +
                             " (kind UTINYINT, k BIGINT, vf TIMESTAMP, vt TIMESTAMP, del BOOLEAN)"));
    DIMSTREAM_TRY(conn_.Exec("DELETE FROM temp." + std::string(kEdits)));
    {
      Appender edits(conn_, "temp", kEdits);
      for (const VersionClose& c : closes) {
        edits.UInt8(0);
        edits.Int64(c.key);
        edits.Time(c.valid_from);
        edits.Time(c.valid_to);
        edits.Bool(c.by_delete);
        edits.EndRow();
      }
      for (const auto& [key, valid_from] : rewritten) {
        edits.UInt8(1);
        edits.Int64(key);
        edits.Time(valid_from);
        edits.Null();
        edits.Null();
        edits.EndRow();
      }
      for (int64_t key : current_keys) {
        edits.UInt8(2);
        edits.Int64(key);
        edits.Null();
        edits.Null();
        edits.Null();
        edits.EndRow();
      }
      DIMSTREAM_TRY(edits.Close());
    }
    std::string edits = "temp." + std::string(kEdits);
    if (!closes.empty()) {
      DIMSTREAM_TRY(conn_.Exec(fmt::format(
          "UPDATE {0} SET valid_to = e.vt, is_current = false, _ended_by_delete = e.del FROM {1} e WHERE "
          "e.kind = 0 AND {0}.{2} = e.k AND {0}.valid_from = e.vf",
          n_.history, edits, n_.key)));
    }
    if (!rewritten.empty()) {
      DIMSTREAM_TRY(conn_.Exec(fmt::format(
          "DELETE FROM {0} USING {1} e WHERE e.kind = 1 AND {0}.{2} = e.k AND {0}.valid_from = e.vf",
          n_.history, edits, n_.key)));
    }
    if (!current_keys.empty()) {
      DIMSTREAM_TRY(conn_.Exec(fmt::format("DELETE FROM {0} WHERE {1} IN (SELECT k FROM {2} WHERE kind = 2)",
                                           n_.current, n_.key, edits)));
    }
    // The versions, without their values: those are the staged record's whose arrival is updated_arrival.
    DIMSTREAM_TRY(conn_.Exec("CREATE TEMP TABLE IF NOT EXISTS " + std::string(kVersions) +
                             " (vf TIMESTAMP, vt TIMESTAMP, del BOOLEAN, opened BIGINT, updated BIGINT)"));
    DIMSTREAM_TRY(conn_.Exec("DELETE FROM temp." + std::string(kVersions)));
    {
      Appender rows(conn_, "temp", kVersions);
      for (const Version& v : versions) {
        rows.Time(v.valid_from);
        rows.OptTime(v.valid_to);
        rows.Bool(v.ended_by_delete);
        rows.Int64(v.opened_arrival);
        rows.Int64(v.updated_arrival);
        rows.EndRow();
      }
      DIMSTREAM_TRY(rows.Close());
    }
    std::string from = fmt::format("FROM temp.{} v JOIN {} s ON s._arrival = v.updated", kVersions, n_.stage);
    std::string values = "s." + n_.key;
    for (const auto& c : entity_.attribute_columns()) {
      values += ", s." + QuoteIdent(c);
    }
    DIMSTREAM_TRY(
        conn_.Exec(fmt::format("INSERT INTO {} SELECT {}, v.vf, v.vt, v.vt IS NULL, v.del, v.opened, "
                               "v.updated, s._scd1_hash, s._scd2_hash {}",
                               n_.history, values, from)));
    return conn_.Exec(
        fmt::format("INSERT INTO {} SELECT {}, v.vf, v.opened, v.updated, s._scd1_hash, s._scd2_hash {} "
                    "WHERE v.vt IS NULL",
                    n_.current, values, from));
  }

  Status Finish(int64_t new_watermark, const TaskRecord& task) override {
    DIMSTREAM_TRY(WriteParameter(kWatermarkName, new_watermark));
    FaultPoint("merge.before_cleanup");
    DIMSTREAM_TRY(conn_.Run(fmt::format("DELETE FROM {} WHERE _arrival <= $1", n_.raw), {new_watermark}));
    DIMSTREAM_TRY(conn_.Exec("DELETE FROM " + n_.stage));
    DIMSTREAM_TRY(InsertTask(conn_, task));
    FaultPoint("merge.before_commit");
    open_ = false;  // committed or rolled back by Commit
    DIMSTREAM_TRY(keeper_.Commit(conn_, *c_.db));
    FaultPoint("merge.after_commit");
    return Ok();
  }

  static Status InsertTask(Connection& conn, const TaskRecord& t) {
    return conn.Run(
        fmt::format("INSERT INTO {} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                    QuoteIdent(kTaskHistory)),
        {t.task_name, Timestamp{t.started_at}, Timestamp{t.finished_at}, t.status, t.rows_in, t.rows_staged,
         t.keys, t.versions_opened, t.versions_closed, t.scd1_updates, t.rows_rejected, t.watermark_from,
         t.watermark_to, t.error.empty() ? Param{} : Param{t.error}});
  }

 private:
  Connected c_;
  Connection& conn_;
  DatabaseKeeper& keeper_;
  const EntitySpec& entity_;
  Names n_;
  bool open_ = false;
  size_t listed_ = 0;  // keys given to ListKeys
};

}  // namespace

DuckDbWarehouse::DuckDbWarehouse(DuckDbOptions options, EntitySpec entity)
    : options_(std::move(options)),
      entity_(std::move(entity)),
      keeper_(std::make_unique<DatabaseKeeper>([o = options_] { return OpenDatabase(o); }, kReopenWait)) {}

DuckDbWarehouse::~DuckDbWarehouse() = default;

Result<std::unique_ptr<DuckDbWarehouse>> DuckDbWarehouse::Open(const DuckDbOptions& options,
                                                               const EntitySpec& entity) {
  DIMSTREAM_TRY(entity.Validate());
  std::error_code ec;
  if (!options.read_only && options.path.has_parent_path()) {
    std::filesystem::create_directories(options.path.parent_path(), ec);
  }
  std::unique_ptr<DuckDbWarehouse> w(new DuckDbWarehouse(options, entity));
  auto db = w->keeper_->Acquire();
  if (!db.ok()) {
    return db.error();
  }
  if (!options.read_only) {
    Status schema = w->CreateSchema();
    if (!schema.ok()) {
      return schema.error().Context("cannot create the schema in " + options.path.string());
    }
  }
  return w;
}

Result<duckdb_database> DuckDbWarehouse::OpenDatabase(const DuckDbOptions& options) {
  duckdb_config config = nullptr;
  duckdb_create_config(&config);
  if (options.threads > 0) {
    duckdb_set_config(config, "threads", std::to_string(options.threads).c_str());
  }
  if (!options.memory_limit.empty()) {
    duckdb_set_config(config, "memory_limit", options.memory_limit.c_str());
  }
  if (!options.checkpoint_threshold.empty()) {
    duckdb_set_config(config, "checkpoint_threshold", options.checkpoint_threshold.c_str());
  }
  if (options.read_only) {
    duckdb_set_config(config, "access_mode", "READ_ONLY");
  }
  duckdb_database db = nullptr;
  char* err = nullptr;
  duckdb_state st = duckdb_open_ext(options.path.c_str(), &db, config, &err);
  duckdb_destroy_config(&config);
  if (st != DuckDBSuccess) {
    std::string message = err != nullptr ? err : "unknown error";
    duckdb_free(err);
    return duck::ToError("cannot open warehouse " + options.path.string(), message);
  }
  return db;
}

Status DuckDbWarehouse::CreateSchema() {
  auto c = keeper_->Connect();
  if (!c.ok()) {
    return c.error();
  }
  Connection& conn = *c->conn;
  const EntitySpec& e = entity_;
  Names n(e);
  std::string attrs = AttrDdl(e);
  std::string key = n.key + " BIGINT";
  std::string input = key + attrs;
  if (!e.sequence_column.empty()) {
    input += ", " + QuoteIdent(e.sequence_column) + " TIMESTAMP";
  }
  if (!e.operation_column.empty()) {
    input += ", " + QuoteIdent(e.operation_column) + " VARCHAR";
  }
  std::string raw_meta =
      ", _object_key VARCHAR, _line BIGINT, _arrival BIGINT, _load_id BIGINT, _loaded_at TIMESTAMP, _seq "
      "TIMESTAMP, _scd1_hash UBIGINT, _scd2_hash UBIGINT";
  std::string lineage =
      ", _opened_arrival BIGINT, _updated_arrival BIGINT, _scd1_hash UBIGINT, _scd2_hash UBIGINT";
  std::vector<std::string> ddl = {
      fmt::format("CREATE TABLE IF NOT EXISTS {} ({}{})", n.raw, input, raw_meta),
      fmt::format("CREATE TABLE IF NOT EXISTS {} ({}{})", n.stage, input, raw_meta),
      fmt::format("CREATE TABLE IF NOT EXISTS {} ({}{}, _op VARCHAR, _seq TIMESTAMP, _arrival BIGINT)", n.log,
                  key, attrs),
      fmt::format("CREATE TABLE IF NOT EXISTS {} ({}{}, valid_from TIMESTAMP, valid_to TIMESTAMP, is_current "
                  "BOOLEAN, "
                  "_ended_by_delete BOOLEAN{})",
                  n.history, key, attrs, lineage),
      fmt::format("CREATE TABLE IF NOT EXISTS {} ({}{}, valid_from TIMESTAMP{})", n.current, key, attrs,
                  lineage),
      fmt::format(
          "CREATE TABLE IF NOT EXISTS {} (object_key VARCHAR, line BIGINT, raw VARCHAR, reason VARCHAR, "
          "load_id BIGINT, rejected_at TIMESTAMP)",
          n.rejects),
      fmt::format(
          "CREATE TABLE IF NOT EXISTS {} (load_id BIGINT, object_key VARCHAR, checksum VARCHAR, "
          "version_tag VARCHAR, size BIGINT, status VARCHAR, rows_loaded BIGINT, rows_rejected BIGINT, "
          "error VARCHAR, loaded_at TIMESTAMP, sequence_time TIMESTAMP)",
          QuoteIdent(kLoadHistory)),
      fmt::format(
          "CREATE TABLE IF NOT EXISTS {} (job_name VARCHAR, parameter_name VARCHAR, parameter_value VARCHAR, "
          "updated_at TIMESTAMP)",
          QuoteIdent(kParameterControl)),
      fmt::format(
          "CREATE TABLE IF NOT EXISTS {} (task_name VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP, "
          "status VARCHAR, rows_in BIGINT, rows_staged BIGINT, keys BIGINT, versions_opened BIGINT, "
          "versions_closed BIGINT, scd1_updates BIGINT, rows_rejected BIGINT, watermark_from BIGINT, "
          "watermark_to BIGINT, "
          "error VARCHAR)",
          QuoteIdent(kTaskHistory)),
  };
  // "The customers as of T": SELECT * FROM customer_as_of(TIMESTAMP '2025-01-05').
  ddl.push_back(
      fmt::format("CREATE OR REPLACE MACRO {}(t) AS TABLE SELECT {}, {}, valid_from, valid_to FROM "
                  "{} WHERE valid_from <= t AND "
                  "(valid_to IS NULL OR valid_to > t)",
                  QuoteIdent(e.name + "_as_of"), n.key, n.attrs, n.history));
  // Lineage: the object and line of the record that opened each version and of the last one that changed it.
  // An arrival position is the load id in the high 32 bits and the line in the low 32.
  ddl.push_back(fmt::format(
      "CREATE OR REPLACE VIEW {} AS SELECT h.{}, h.valid_from, h.valid_to, h.is_current, o.object_key AS "
      "opened_by_object, h._opened_arrival & 4294967295 AS opened_by_line, u.object_key AS "
      "updated_by_object, "
      "h._updated_arrival & 4294967295 AS updated_by_line FROM {} h LEFT JOIN {} o ON o.load_id = "
      "h._opened_arrival >> 32 AND o.status = 'loaded' LEFT JOIN {} u ON u.load_id = h._updated_arrival >> "
      "32 AND "
      "u.status = 'loaded'",
      QuoteIdent(e.name + "_lineage"), n.key, n.history, QuoteIdent(kLoadHistory), QuoteIdent(kLoadHistory)));

  // A warehouse whose schema is already this one is not written to: opening it works on a full disk, and
  // `sql` and `status` with it.
  std::string joined;
  for (const auto& sql : ddl) {
    joined += sql + ";\n";
  }
  std::string mark = "dimstream schema " + Sha256(joined).get();
  auto current = conn.ScalarInt(
      "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = "
      "'main' "
      "AND table_name = $1 AND comment = $2",
      {e.history_table(), mark});
  if (current.ok() && current->value_or(0) > 0) {
    return Ok();
  }
  DIMSTREAM_TRY(conn.Exec("BEGIN TRANSACTION"));
  for (const auto& sql : ddl) {
    DIMSTREAM_TRY(conn.Exec(sql));
  }
  DIMSTREAM_TRY(conn.Exec(fmt::format("COMMENT ON TABLE {} IS {}", n.history, QuoteLiteral(mark))));
  return keeper_->Commit(conn, *c->db);
}

Result<bool> DuckDbWarehouse::HasVersion(const ObjectKey& key, const std::string& version_tag) {
  return HasLoadWhere("version_tag", version_tag, key);
}

Result<bool> DuckDbWarehouse::HasLoad(const ObjectKey& key, const Checksum& checksum) {
  return HasLoadWhere("checksum", checksum.get(), key);
}

Result<bool> DuckDbWarehouse::HasLoadWhere(const char* column, const std::string& value,
                                           const ObjectKey& key) {
  auto c = keeper_->Connect();
  if (!c.ok()) {
    return c.error();
  }
  auto v = c->conn->ScalarInt(fmt::format("SELECT count(*) FROM {} WHERE object_key = $1 AND {} = $2",
                                          QuoteIdent(kLoadHistory), QuoteIdent(column)),
                              {key.get(), value});
  if (!v.ok()) {
    return v.error();
  }
  return v->value_or(0) > 0;
}

Status DuckDbWarehouse::AppendRaw(Connection& conn, const LoadRequest& request, int64_t load_id,
                                  int64_t arrival_base, Micros loaded_at, Micros sequence_time) {
  const RawRows& rows = request.rows;
  bool has_sequence = !entity_.sequence_column.empty();
  bool has_op = !entity_.operation_column.empty();
  Appender raw(conn, entity_.raw_table());
  for (size_t i = 0; i < rows.size(); ++i) {
    raw.Int64(rows.key[i]);
    for (const auto& column : rows.attributes) {
      const TextRef& t = column[i];
      t.null ? raw.Null() : raw.Text(t.value);
    }
    std::optional<Micros> event_time = rows.event_time.empty() ? std::nullopt : rows.event_time[i];
    if (has_sequence) {
      raw.OptTime(event_time);
    }
    if (has_op) {
      raw.Text(std::string_view(&rows.op[i], 1));
    }
    raw.Text(request.object.key.get());
    raw.Int64(static_cast<int64_t>(rows.line[i]));
    raw.Int64(arrival_base + static_cast<int64_t>(rows.line[i]));
    raw.Int64(load_id);
    raw.Time(loaded_at);
    raw.Time(event_time.value_or(sequence_time));
    raw.UInt64(rows.scd1_hash[i]);
    raw.UInt64(rows.scd2_hash[i]);
    raw.EndRow();
  }
  DIMSTREAM_TRY(raw.Close());
  Appender rejects(conn, entity_.rejects_table());
  for (const RejectedRow& r : request.rejects) {
    rejects.Text(request.object.key.get());
    rejects.Int64(static_cast<int64_t>(r.line));
    rejects.Text(r.raw);
    rejects.Text(r.reason);
    rejects.Int64(load_id);
    rejects.Time(loaded_at);
    rejects.EndRow();
  }
  return rejects.Close();
}

Result<LoadReceipt> DuckDbWarehouse::CommitLoad(const LoadRequest& request) {
  std::lock_guard lock(load_mu_);
  auto c = keeper_->Connect();
  if (!c.ok()) {
    return c.error().Context("cannot load " + request.object.key.get());
  }
  Connection& conn = *c->conn;
  DIMSTREAM_TRY(conn.Exec("BEGIN TRANSACTION"));
  auto body = [&]() -> Result<LoadReceipt> {
    auto seen = conn.ScalarInt(fmt::format("SELECT count(*) FROM {} WHERE object_key = $1 AND checksum = $2",
                                           QuoteIdent(kLoadHistory)),
                               {request.object.key.get(), request.checksum.get()});
    if (!seen.ok()) {
      return seen.error();
    }
    if (seen->value_or(0) > 0) {
      return LoadReceipt{LoadOutcome::kAlreadyDone, 0};
    }
    QueryResultHandle last;
    DIMSTREAM_TRY(
        conn.Run(fmt::format("SELECT coalesce(max(load_id), 0), coalesce(epoch_us(max(sequence_time)), 0) "
                             "FROM {}",
                             QuoteIdent(kLoadHistory)),
                 {}, &last));
    int64_t load_id = 0;
    Micros last_sequence = 0;
    ChunkReader reader(last.get());
    reader.ForEach([&](idx_t row) {
      load_id = reader.GetInt64(0, row) + 1;
      last_sequence = reader.GetInt64(1, row);
    });
    Micros now = NowMicros();
    // The sequence of a file without event time: its load's commit order, as a time that never goes back.
    Micros sequence_time = std::max(now, last_sequence + 1);
    // Arrival position: the load's place in commit order, then the line (SEMANTICS.md section 4).
    int64_t arrival_base = load_id << 32;
    if (!request.failed) {
      DIMSTREAM_TRY(AppendRaw(conn, request, load_id, arrival_base, now, sequence_time));
    } else if (!request.rejects.empty()) {
      LoadRequest rejects_only{request.object, request.checksum, true, request.error, {}, request.rejects};
      rejects_only.rows.attributes.resize(entity_.attribute_columns().size());
      DIMSTREAM_TRY(AppendRaw(conn, rejects_only, load_id, arrival_base, now, sequence_time));
    }
    DIMSTREAM_TRY(conn.Run(
        fmt::format("INSERT INTO {} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    QuoteIdent(kLoadHistory)),
        {load_id, request.object.key.get(), request.checksum.get(), request.object.version_tag,
         request.object.size, std::string(request.failed ? "failed" : "loaded"),
         static_cast<int64_t>(request.failed ? 0 : request.rows.size()),
         static_cast<int64_t>(request.rejects.size()), request.error.empty() ? Param{} : Param{request.error},
         Timestamp{now}, Timestamp{sequence_time}}));
    FaultPoint("load.before_commit");
    DIMSTREAM_TRY(keeper_->Commit(conn, *c->db));
    FaultPoint("load.after_commit");
    return LoadReceipt{request.failed ? LoadOutcome::kFailed : LoadOutcome::kLoaded, load_id};
  };
  Result<LoadReceipt> r = body();
  if (!r.ok() || r->outcome == LoadOutcome::kAlreadyDone) {
    (void)conn.Exec("ROLLBACK");
  }
  if (!r.ok() && duck::LeavesInstanceUnusable(r.error().message)) {
    keeper_->Retire(*c->db, r.error().message);
  }
  if (!r.ok()) {
    return r.error().Context("cannot load " + request.object.key.get());
  }
  return r;
}

Result<std::unique_ptr<MergeSession>> DuckDbWarehouse::BeginMerge() {
  auto c = keeper_->Connect();
  if (!c.ok()) {
    return c.error();
  }
  auto session = std::make_unique<DuckDbMergeSession>(std::move(*c), *keeper_, entity_);
  DIMSTREAM_TRY(session->Begin());
  return std::unique_ptr<MergeSession>(std::move(session));
}

Status DuckDbWarehouse::RecordTask(const TaskRecord& task) {
  auto c = keeper_->Connect();
  if (!c.ok()) {
    return c.error();
  }
  DIMSTREAM_TRY(c->conn->Exec("BEGIN TRANSACTION"));
  DIMSTREAM_TRY(DuckDbMergeSession::InsertTask(*c->conn, task));
  return keeper_->Commit(*c->conn, *c->db);
}

Status DuckDbWarehouse::Checkpoint() {
  auto c = keeper_->Connect();
  if (!c.ok()) {
    return c.error();
  }
  return c->conn->Exec("CHECKPOINT");
}

uint64_t DuckDbWarehouse::Reopens() const {
  return keeper_->retirements();
}

Result<QueryResult> DuckDbWarehouse::Query(const std::string& sql) {
  auto connected = keeper_->Connect();
  if (!connected.ok()) {
    return connected.error();
  }
  QueryResultHandle r;
  if (duckdb_query(connected->conn->get(), sql.c_str(), r.get()) != DuckDBSuccess) {
    std::string message = duckdb_result_error(r.get());
    if (duck::LeavesInstanceUnusable(message)) {
      keeper_->Retire(*connected->db, message);
    }
    return Error::Invalid(message);
  }
  QueryResult out;
  idx_t columns = duckdb_column_count(r.get());
  for (idx_t c = 0; c < columns; ++c) {
    out.columns.emplace_back(duckdb_column_name(r.get(), c));
    switch (duckdb_column_type(r.get(), c)) {
      case DUCKDB_TYPE_BOOLEAN:
        out.kinds.push_back(ColumnKind::kBoolean);
        break;
      case DUCKDB_TYPE_TINYINT:
      case DUCKDB_TYPE_SMALLINT:
      case DUCKDB_TYPE_INTEGER:
      case DUCKDB_TYPE_BIGINT:
      case DUCKDB_TYPE_UTINYINT:
      case DUCKDB_TYPE_USMALLINT:
      case DUCKDB_TYPE_UINTEGER:
      case DUCKDB_TYPE_UBIGINT:
      case DUCKDB_TYPE_HUGEINT:
      case DUCKDB_TYPE_UHUGEINT:
      case DUCKDB_TYPE_FLOAT:
      case DUCKDB_TYPE_DOUBLE:
      case DUCKDB_TYPE_DECIMAL:
        out.kinds.push_back(ColumnKind::kNumber);
        break;
      default:
        out.kinds.push_back(ColumnKind::kText);
    }
  }
  idx_t rows = duckdb_row_count(r.get());
  out.rows.reserve(rows);
  for (idx_t row = 0; row < rows; ++row) {
    std::vector<Value> values;
    values.reserve(columns);
    for (idx_t c = 0; c < columns; ++c) {
      if (duckdb_value_is_null(r.get(), c, row)) {
        values.emplace_back(std::nullopt);
      } else {
        char* text = duckdb_value_varchar(r.get(), c, row);
        values.emplace_back(text != nullptr ? text : "");
        duckdb_free(text);
      }
    }
    out.rows.push_back(std::move(values));
  }
  return out;
}

std::string DuckDbWarehouse::Describe() const {
  return "duckdb:" + options_.path.string();
}

}  // namespace dimstream
