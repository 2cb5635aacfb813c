#include "warehouse/duckdb/delta_store.h"

#include <fmt/format.h>

#include "warehouse/duckdb/version_writer.h"

namespace dimstream::duck {
namespace {

// Temporary tables of a run's append and of a compaction (the session connection's own).
constexpr const char* kCloses = "dimstream_delta_closes";
constexpr const char* kSlice = "dimstream_slice";

}  // namespace

Result<std::vector<uint64_t>> DeltaStore::AppendRun(bool opened_to_base) {
  const std::string increment = Temp(kIncrement);
  const std::string edits = Temp(kEdits);
  std::vector<uint64_t> mismatched;
  if (!t_.exact_kid) {
    // An edited version must be open and have the key columns of a staged record of the edit's key; the
    // index confused two keys sharing a key id otherwise.
    QueryResultHandle r;
    DIMSTREAM_TRY(conn_.Run(
        fmt::format("SELECT DISTINCT e.kid FROM {0} e JOIN {1} r ON r._arrival = e.ref WHERE NOT EXISTS "
                    "(SELECT 1 FROM {2} c WHERE c._opened_arrival = e.opened AND c._kid = e.kid AND {3})",
                    edits, t_.stage, t_.current_view, t_.KeysEqual("c", "r")),
        {}, &r));
    ChunkReader reader(r.get());
    reader.ForEach([&](idx_t row) { mismatched.push_back(reader.GetUInt64(0, row)); });
    if (!mismatched.empty()) {
      return mismatched;
    }
  }
  // The versions open before the run that it closed as they were: with the values of their delta row if
  // they have one, else a row that only closes the base row. Read before the old rows go.
  DIMSTREAM_TRY(conn_.Exec(fmt::format(
      "CREATE OR REPLACE TEMP TABLE {0} AS SELECT e.kid, e.opened, old.updated, e.closed, e.del, old.vf, "
      "c._seq AS vt FROM {1} e JOIN {2} c ON c._arrival = e.closed LEFT JOIN {3} old ON old.opened = "
      "e.opened "
      "WHERE e.closed IS NOT NULL",
      kCloses, edits, t_.stage, t_.delta)));
  DIMSTREAM_TRY(
      conn_.Exec(fmt::format("DELETE FROM {} WHERE opened IN (SELECT opened FROM {})", t_.delta, edits)));
  // The versions the run opened or rewrote, with the values of the staged record that last touched them.
  // Those it opened (their opener is one of its records) have no row in the base tables or the delta yet:
  // with `opened_to_base` they are written there as a compaction would, once: the closed ones into history,
  // the open ones into current.
  std::string rewritten = increment;
  if (opened_to_base) {
    // Their values from stage: the log's rows of this run, not committed yet, read about twice as slowly.
    const std::string first =
        fmt::format("(SELECT min(a) FROM {})", Temp(kWinners));  // the run's first arrival
    const std::string opened = fmt::format("(SELECT * FROM {} WHERE opened >= {})", increment, first);
    const std::string closed =
        fmt::format("(SELECT * FROM {} WHERE opened >= {} AND closed IS NOT NULL)", increment, first);
    DIMSTREAM_TRY(conn_.Exec(fmt::format("INSERT INTO {} ({}) {}", t_.history, t_.HistoryColumns(),
                                         t_.VersionRows(closed, true, t_.stage))));
    DIMSTREAM_TRY(conn_.Exec(fmt::format("INSERT INTO {} ({}) {}", t_.current, t_.CurrentColumns(),
                                         t_.VersionRows(opened, false, t_.stage))));
    rewritten = fmt::format("(SELECT * FROM {} WHERE opened < {})", increment, first);
  }
  DIMSTREAM_TRY(conn_.Exec(fmt::format(
      "INSERT INTO {0} SELECT {1}, v.opened, v.updated, v.closed, v.del, v.vf, v.vt FROM {2} v JOIN {3} u ON "
      "u._arrival = v.updated",
      t_.delta, t_.KidOf("u"), rewritten, t_.stage)));
  DIMSTREAM_TRY(conn_.Exec(fmt::format("INSERT INTO {} SELECT * FROM {}", t_.delta, Temp(kCloses))));
  DIMSTREAM_TRY(conn_.Exec("DROP TABLE " + Temp(kCloses)));
  return mismatched;
}

Result<uint64_t> DeltaStore::Compact(uint64_t max_rows, DeltaRows kind) {
  const char* which = kind == DeltaRows::kValues   ? " WHERE updated IS NOT NULL"
                      : kind == DeltaRows::kCloses ? " WHERE updated IS NULL"
                                                   : "";
  DIMSTREAM_TRY(
      conn_.Exec(fmt::format("CREATE OR REPLACE TEMP TABLE {} AS SELECT * FROM {}{}{}", kSlice, t_.delta,
                             which, max_rows > 0 ? fmt::format(" LIMIT {}", max_rows) : "")));
  auto rows = conn_.ScalarInt("SELECT count(*) FROM " + Temp(kSlice));
  if (!rows.ok()) {
    return rows.error();
  }
  const uint64_t moved = static_cast<uint64_t>(rows->value_or(0));
  if (moved > 0) {
    const std::string slice = Temp(kSlice);
    // The versions the slice closes go into history: with their values from the log where the delta row has
    // them, else as their current row was (read before it goes: a scan of every column of current, the
    // reason why closes wait for many of them). Every version the slice names leaves current; the open ones
    // come back with their new values.
    DIMSTREAM_TRY(conn_.Exec(
        fmt::format("INSERT INTO {} ({}) {}", t_.history, t_.HistoryColumns(),
                    t_.DeltaRows(fmt::format("(SELECT * FROM {} WHERE closed IS NOT NULL)", slice), true))));
    if (kind != DeltaRows::kValues) {
      DIMSTREAM_TRY(conn_.Exec(fmt::format(
          "INSERT INTO {} ({}) SELECT {} FROM {} d JOIN {} b ON b._opened_arrival = d.opened WHERE d.updated "
          "IS NULL",
          t_.history, t_.HistoryColumns(), t_.BaseHistoryRow("d.vt", "false", "d.del"), slice, t_.current)));
    }
    DIMSTREAM_TRY(conn_.Exec(
        fmt::format("DELETE FROM {} WHERE _opened_arrival IN (SELECT opened FROM {})", t_.current, slice)));
    DIMSTREAM_TRY(conn_.Exec(
        fmt::format("INSERT INTO {} ({}) {}", t_.current, t_.CurrentColumns(), t_.DeltaRows(slice, false))));
    DIMSTREAM_TRY(
        conn_.Exec(fmt::format("DELETE FROM {} WHERE opened IN (SELECT opened FROM {})", t_.delta, slice)));
  }
  DIMSTREAM_TRY(conn_.Exec("DROP TABLE " + Temp(kSlice)));
  return moved;
}

Result<DeltaSize> DeltaStore::Size() {
  QueryResultHandle r;
  DIMSTREAM_TRY(
      conn_.Run(fmt::format("SELECT count(updated), count(*) - count(updated) FROM {}", t_.delta), {}, &r));
  DeltaSize size;
  ChunkReader reader(r.get());
  reader.ForEach([&](idx_t row) {
    size.values = static_cast<uint64_t>(reader.GetInt64(0, row));
    size.closes = static_cast<uint64_t>(reader.GetInt64(1, row));
  });
  return size;
}

Status DeltaStore::Drop(const std::string& condition) {
  return conn_.Exec(fmt::format("DELETE FROM {}{}", t_.delta, condition));
}

}  // namespace dimstream::duck
