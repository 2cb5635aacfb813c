#pragma once

#include <string>
#include <vector>

#include "config/entity.h"

namespace dimstream::duck {

// A merge session's temporary view of the raw rows its run merges (EntityTables::stage).
inline constexpr const char* kStageView = "dimstream_stage";
// The temporary table of the arrivals a run merges (column a: the winner of each key and sequence); the
// stage view reads the raw rows that have them.
inline constexpr const char* kWinners = "dimstream_winners";

// The tables of one entity in DuckDB and the pieces of SQL that name their columns, quoted once. Columns:
//
//   log, stage  the input columns (EntitySpec::input_columns(), typed), then _object_key, _line, _arrival,
//               _load_id, _loaded_at, _seq (the first sequence column's value, or the load's commit time),
//               [_seq_key] (the whole sequence's ordered encoding), [_kid] (key id; NULL for a truncate), _op
//               ('U', 'D' or 'T'), _scd1_hash, _scd2_hash
//               The log is every record loaded: the loader appends to it, and <entity>_raw is a view of its
//               records above the merge's watermark (not merged yet). At or below the watermark it holds the
//               merged records a fold reads: a merge run deletes the records of its range that it does not
//               merge (superseded in the run, rejected) and those its records supersede, so that each change
//               is written once wide, by its load (truncates stay, unread: the fold takes them from the
//               truncates table). Records merged by the built-in log compaction
//               (merge.log_retention_days) become base records, without the load's columns.
//   truncates   _seq and the further sequence columns, [_seq_key], _arrival
//   history     (the physical table <entity>_history_base; <entity>_history is a view; with merge on read
//               it holds the closed versions only, the open ones being those of current) the keys, the
//               attributes, valid_from (+ valid_from_<column>), valid_to (+ valid_to_<column>),
//               is_current, _ended_by_delete, _opened_arrival, _updated_arrival, _scd1_hash, _scd2_hash,
//               [_kid]
//   current     (the physical table <entity>_current_base; <entity>_current is a view) the keys, the
//               attributes, valid_from (+ valid_from_<column>), _opened_arrival, _updated_arrival,
//               _scd1_hash, _scd2_hash, [_kid]
//   delta       (merge on read only) kid, opened, updated, closed, del, vf, vt: the versions merge runs
//               changed since they were last compacted into the base tables, one row each, narrow; their
//               values are those of log record `updated`. A row with `updated` NULL only closes its
//               version (valid_to vt, closed by record `closed`, by a delete when `del`), which keeps the
//               values of its base row.
//   rejects     object_key, line, raw, reason, load_id, rejected_at
//
// The views <entity>_history and <entity>_current are the base tables with the delta applied
// (EntityTables::HistoryView, CurrentView), so that a merge run appends narrow delta rows instead of
// rewriting wide rows of the base tables, and compaction moves the delta into them in slices between runs.
// Merge on read applies where the sequence is compact and SCD1 values belong to the current version only;
// elsewhere the delta stays empty and the merge writes the base tables in its runs.
//
// [_kid] only where the key id is a hash: for one bigint key column the key is its own id, and the key column
// stands for it. [_seq_key] only where the sequence is not compact (text, a wide decimal, several columns):
// a compact one is read typed from _seq and encoded by the caller.
//
// Built once per entity by the adapter; read-only afterwards.
struct EntityTables {
  explicit EntityTables(const EntitySpec& entity);

  const EntitySpec& e;
  // Quoted names. `history` and `current` are the base tables (what the merge writes); the views users read
  // are `history_view` and `current_view`; `raw` is a view of `log` (above). `stage` is a merge session's
  // temporary view of the raw rows its run merges (the table <entity>_stage stays empty: a run no longer
  // copies its records into it).
  std::string raw, stage, log, truncates, history, current, rejects, history_view, current_view, delta;
  bool merge_on_read;    // merge runs append to the delta (see above)
  bool exact_kid;        // the key is its own key id: no _kid column
  bool compact_seq;      // one sequence column (or the load time) of a compact type: no _seq_key column
  std::string kid;       // the column of the key id: the key column, or _kid
  std::string kid_type;  // its SQL type: BIGINT (a key's bits), UBIGINT (a hash)

  std::vector<std::string> keys;        // quoted key columns
  std::vector<std::string> scd1;        // quoted SCD1 columns
  std::vector<std::string> scd2;        // quoted SCD2 columns
  std::vector<std::string> seq;         // _seq and the further sequence columns (raw, stage, log, truncates)
  std::vector<std::string> valid_from;  // valid_from and valid_from_<column>...
  std::vector<std::string> valid_to;    // valid_to and valid_to_<column>...

  // Every column of `t`'s rows of `cols`, prefixed: t."a", t."b". Empty parts are skipped by Join.
  static std::string Of(const std::string& alias, const std::vector<std::string>& cols);
  // The non-empty parts joined with ", ".
  static std::string Join(const std::vector<std::string>& parts);
  // a."k1" = b."k1" AND a."k2" = b."k2"
  std::string KeysEqual(const std::string& a, const std::string& b) const;
  // `AND <KeysEqual>` where key ids are hashes; empty where a key id is the key.
  std::string AndSameKey(const std::string& a, const std::string& b) const;
  // What tells two keys with one key id apart: true when rows of a group have more than one key.
  std::string SeveralKeys() const;
  // alias.kid (or kid without an alias).
  std::string KidOf(const std::string& alias) const;
  // What a query selects to read a sequence back: _seq (typed, compact) or _seq_key.
  std::string SeqRead(const std::string& alias = "") const;
  // a."_seq" = b."_seq" AND a."pos" = b."pos": one sequence, by its typed columns.
  std::string SeqEqual(const std::string& a, const std::string& b) const;

  // The column definitions of each table.
  std::string RawColumnsDdl() const;
  std::string TruncatesColumnsDdl() const;
  std::string HistoryColumnsDdl() const;
  std::string CurrentColumnsDdl() const;
  std::string DeltaColumnsDdl() const;
  // The SELECTs that define the views: raw (the log above the watermark of job `merge_job`), history and
  // current (the base tables as they are without merge on read).
  std::string RawView() const;
  std::string HistoryView() const;
  std::string CurrentView() const;
  // History rows (`history`) or current rows of the delta rows in `delta` that carry values (the open ones
  // only for current): the values of their log record.
  std::string DeltaRows(const std::string& delta_rows, bool history_rows) const {
    return DeltaRows(delta_rows, history_rows, exact_kid, log);
  }
  // The same of rows of that shape without a key id column (a run's versions), with the values of their
  // record in `records` (stage, during the run), the key included.
  std::string VersionRows(const std::string& versions, bool history_rows, const std::string& records) const {
    return DeltaRows(versions, history_rows, false, records);
  }
  // The columns of a history row read from base table alias b (of history or current), with valid_to
  // (`closed_at`), is_current and _ended_by_delete given (what a delta row that only closes the version
  // changes).
  std::string BaseHistoryRow(const std::string& closed_at, const std::string& is_current,
                             const std::string& ended_by_delete) const;
  // Column lists for INSERT ... (cols).
  std::string LogColumns() const;
  std::string HistoryColumns() const;
  // DeltaRows and VersionRows: the key from d.kid (`key_from_delta`, where the key is its own key id) or
  // from the record.
  std::string DeltaRows(const std::string& delta_rows, bool history_rows, bool key_from_delta,
                        const std::string& records) const;
  std::string CurrentColumns() const;
};

}  // namespace dimstream::duck
