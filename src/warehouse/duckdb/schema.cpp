#include "warehouse/duckdb/schema.h"

#include <fmt/format.h>

#include "common/checksum.h"
#include "warehouse/sql.h"

namespace dimstream::duck {
namespace {

struct TableDdl {
  std::string name;     // unquoted
  std::string columns;  // the column definitions
};

std::vector<TableDdl> Tables(const std::vector<const EntityTables*>& entities) {
  std::vector<TableDdl> out = {
      {"load_history",
       "load_id BIGINT, object_key VARCHAR, checksum VARCHAR, version_tag VARCHAR, size BIGINT, status "
       "VARCHAR, "
       "rows_loaded BIGINT, rows_rejected BIGINT, error VARCHAR, loaded_at TIMESTAMP, sequence_time "
       "TIMESTAMP, "
       "entity VARCHAR, ignored_columns BIGINT, format VARCHAR, uncompressed_size BIGINT"},
      {"parameter_control",
       "job_name VARCHAR, parameter_name VARCHAR, parameter_value VARCHAR, updated_at TIMESTAMP"},
      {"task_history",
       "task_name VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR, rows_in BIGINT, "
       "rows_staged "
       "BIGINT, keys BIGINT, versions_opened BIGINT, versions_closed BIGINT, scd1_updates BIGINT, "
       "rows_rejected "
       "BIGINT, watermark_from BIGINT, watermark_to BIGINT, error VARCHAR"},
  };
  for (const EntityTables* t : entities) {
    const EntitySpec& e = t->e;
    out.push_back({e.log_table(), t->RawColumnsDdl()});
    out.push_back({e.stage_table(), t->RawColumnsDdl()});
    out.push_back({e.truncates_table(), t->TruncatesColumnsDdl()});
    out.push_back({e.history_table() + "_base", t->HistoryColumnsDdl()});
    out.push_back({e.current_table() + "_base", t->CurrentColumnsDdl()});
    out.push_back({e.name + "_delta", t->DeltaColumnsDdl()});
    out.push_back({e.rejects_table(),
                   "object_key VARCHAR, line BIGINT, raw VARCHAR, reason VARCHAR, load_id BIGINT, "
                   "rejected_at TIMESTAMP"});
  }
  return out;
}

// Macros and views, recreated whenever the schema changes.
std::vector<std::string> Derived(const std::vector<const EntityTables*>& entities) {
  std::vector<std::string> out;
  for (const EntityTables* t : entities) {
    const EntitySpec& e = t->e;
    // What users read: the records not merged yet, the base tables with the delta applied (entity_tables.h).
    out.push_back(fmt::format("CREATE OR REPLACE VIEW {} AS {}", t->raw, t->RawView()));
    out.push_back(fmt::format("CREATE OR REPLACE VIEW {} AS {}", t->history_view, t->HistoryView()));
    out.push_back(fmt::format("CREATE OR REPLACE VIEW {} AS {}", t->current_view, t->CurrentView()));
    std::string dims = EntityTables::Join(
        {EntityTables::Of("", t->keys), EntityTables::Of("", t->scd1), EntityTables::Of("", t->scd2)});
    // "The customers as of T": SELECT * FROM customer_as_of(TIMESTAMP '2025-01-05'); T compares with the
    // first sequence column.
    out.push_back(
        fmt::format("CREATE OR REPLACE MACRO {}(t) AS TABLE SELECT {}, {}, {} FROM {} WHERE valid_from <= t "
                    "AND (valid_to IS "
                    "NULL OR valid_to > t)",
                    QuoteIdent(e.name + "_as_of"), dims, EntityTables::Of("", t->valid_from),
                    EntityTables::Of("", t->valid_to), t->history_view));
    // Lineage: the object and line of the record that opened each version and of the last one that changed
    // it. An arrival position is the load id in the high 32 bits and the line in the low 32.
    out.push_back(fmt::format(
        "CREATE OR REPLACE VIEW {} AS SELECT {}, {}, {}, h.is_current, o.object_key AS opened_by_object, "
        "h._opened_arrival & 4294967295 AS opened_by_line, u.object_key AS updated_by_object, "
        "h._updated_arrival & "
        "4294967295 AS updated_by_line FROM {} h LEFT JOIN load_history o ON o.load_id = h._opened_arrival "
        ">> 32 "
        "AND o.status = 'loaded' LEFT JOIN load_history u ON u.load_id = h._updated_arrival >> 32 AND "
        "u.status = "
        "'loaded'",
        QuoteIdent(e.name + "_lineage"), EntityTables::Of("h", t->keys), EntityTables::Of("h", t->valid_from),
        EntityTables::Of("h", t->valid_to), t->history_view));
  }
  return out;
}

using Columns = std::vector<std::pair<std::string, std::string>>;  // name, type

// The columns of a table of the warehouse, or with `temp` of the connection's temporary tables.
Result<Columns> ColumnsOf(Connection& conn, bool temp, const std::string& table) {
  QueryResultHandle r;
  DIMSTREAM_TRY(
      conn.Run(fmt::format("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = {} "
                           "AND schema_name = 'main' AND table_name = $1 ORDER BY column_index",
                           temp ? "'temp'" : "current_database()"),
               {table}, &r));
  Columns out;
  ChunkReader reader(r.get());
  reader.ForEach([&](idx_t row) {
    out.emplace_back(std::string(reader.GetText(0, row)), std::string(reader.GetText(1, row)));
  });
  return out;
}

// kInvalidInput when `table` exists with other columns than `ddl` gives it.
Status CheckExisting(Connection& conn, const TableDdl& ddl, const std::string& where) {
  auto existing = ColumnsOf(conn, false, ddl.name);
  if (!existing.ok() || existing->empty()) {
    return existing.ok() ? Ok() : Status(existing.error());
  }
  // The columns this version would create, read back the same way.
  DIMSTREAM_TRY(conn.Exec("CREATE OR REPLACE TEMP TABLE dimstream_probe (" + ddl.columns + ")"));
  auto expected = ColumnsOf(conn, true, "dimstream_probe");
  DIMSTREAM_TRY(conn.Exec("DROP TABLE temp.dimstream_probe"));
  if (!expected.ok()) {
    return expected.error();
  }
  if (*existing == *expected) {
    return Ok();
  }
  std::string difference;
  for (size_t i = 0; i < std::max(existing->size(), expected->size()); ++i) {
    std::string has =
        i < existing->size() ? fmt::format("{} {}", (*existing)[i].first, (*existing)[i].second) : "nothing";
    std::string wants =
        i < expected->size() ? fmt::format("{} {}", (*expected)[i].first, (*expected)[i].second) : "nothing";
    if (has != wants) {
      difference = fmt::format("column {} is {}, this declaration needs {}", i + 1, has, wants);
      break;
    }
  }
  return Error::Invalid(fmt::format(
      "{}: table {} was made for another declaration of its entity, or by an earlier version of dimstream "
      "({}). "
      "Nothing was changed: declare the entity as it was, or use a new warehouse file (warehouse_path)",
      where, ddl.name, difference));
}

// kInvalidInput when `name`, which this version makes a view over `over`, is a table (an earlier version's).
Status CheckNoTable(Connection& conn, const std::string& name, const std::string& over,
                    const std::string& where) {
  auto tables = conn.ScalarInt(
      "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = "
      "'main' "
      "AND table_name = $1",
      {name});
  if (!tables.ok()) {
    return tables.error();
  }
  if (tables->value_or(0) == 0) {
    return Ok();
  }
  return Error::Invalid(fmt::format(
      "{}: {} is a table, made by an earlier version of dimstream (this version keeps it as a view over {}). "
      "Nothing was changed: use a new warehouse file (warehouse_path), or rebuild it with the earlier "
      "version's data reloaded",
      where, name, over));
}

}  // namespace

Status EnsureSchema(const Connected& c, DatabaseKeeper& keeper,
                    const std::vector<const EntityTables*>& entities, const std::string& where) {
  Connection& conn = *c.conn;
  std::vector<TableDdl> tables = Tables(entities);
  std::vector<std::string> derived = Derived(entities);
  std::string joined;
  for (const auto& t : tables) {
    joined += t.name + "(" + t.columns + ");\n";
  }
  for (const auto& sql : derived) {
    joined += sql + ";\n";
  }
  std::string mark = "dimstream schema " + Sha256(joined).get();
  auto current = conn.ScalarInt(
      "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = "
      "'main' AND "
      "table_name = 'load_history' AND comment = $1",
      {mark});
  if (current.ok() && current->value_or(0) > 0) {
    return Ok();
  }
  for (const auto& t : tables) {
    DIMSTREAM_TRY(CheckExisting(conn, t, where));
  }
  for (const EntityTables* t : entities) {
    DIMSTREAM_TRY(CheckNoTable(conn, t->e.raw_table(), t->e.log_table(), where));
    DIMSTREAM_TRY(
        CheckNoTable(conn, t->e.history_table(), t->e.history_table() + "_base and a delta", where));
    DIMSTREAM_TRY(
        CheckNoTable(conn, t->e.current_table(), t->e.current_table() + "_base and a delta", where));
  }
  DIMSTREAM_TRY(conn.Exec("BEGIN TRANSACTION"));
  for (const auto& t : tables) {
    DIMSTREAM_TRY(
        conn.Exec(fmt::format("CREATE TABLE IF NOT EXISTS {} ({})", QuoteIdent(t.name), t.columns)));
  }
  for (const auto& sql : derived) {
    DIMSTREAM_TRY(conn.Exec(sql));
  }
  DIMSTREAM_TRY(conn.Exec("COMMENT ON TABLE load_history IS " + QuoteLiteral(mark)));
  return keeper.Commit(conn, *c.db);
}

}  // namespace dimstream::duck
