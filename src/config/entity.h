#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/value_type.h"

namespace dimstream {

// kCurrent: an SCD1 change overwrites the open version only. kAllVersions (Kimball's Type 6 style): every
// version of the key carries the SCD1 values of its latest upsert.
enum class Scd1Scope { kCurrent, kAllVersions };

// What an operation value means (SEMANTICS.md section 1).
enum class Operation : char { kUpsert = 'U', kDelete = 'D', kTruncate = 'T' };

// How an entity's files are read (its `loader` table): the format when the object key's suffix does not
// tell it, and the CSV dialect.
struct FileSettings {
  std::string format;  // "csv", "jsonl", "parquet"; empty: told by the suffix
  char delimiter = ',';
  char quote = '"';
  char escape = '"';   // inside quotes, escape + c is c; the same as quote: "" is a quote (RFC 4180)
  bool header = true;  // false: `columns` names the fields of every CSV record in order
  std::vector<std::string> columns;
  bool operator==(const FileSettings&) const = default;
};

// The shape of one pipeline (SEMANTICS.md section 1): which input columns are the key, which are SCD Type 1
// and Type 2 attributes, which carry the sequence and the operation, and every column's type. The
// customer entity is the built-in default; a configuration file can declare others. Validated before
// anything touches a file; afterwards read-only and shared by the loader, the merge and the warehouse.
struct EntitySpec {
  std::string name = "customer";
  // Glob (fnmatch, '*' also crosses '/') on the object key that routes a file to this entity; empty until
  // the configuration resolves it ("*" with one entity, "<name>_*" with several).
  std::string file_pattern;
  std::vector<std::string> key_columns = {"customer_id"};
  std::vector<std::string> scd1_columns = {"first_name", "last_name", "email"};
  std::vector<std::string> scd2_columns = {"street", "city", "state", "country"};
  // Compared lexicographically. Empty: the commit order of the loads orders records.
  std::vector<std::string> sequence_columns = {"updated_at"};
  std::string operation_column = "op";  // empty: every record is an upsert
  // Compared trimmed and case-insensitively; kept here as written.
  std::vector<std::string> delete_values = {"D"};
  std::vector<std::string> upsert_values = {"I", "U", ""};
  std::vector<std::string> truncate_values = {};
  Scd1Scope scd1_scope = Scd1Scope::kCurrent;
  // Declared types. A column not named here is text, except a sequence column, which is a timestamp.
  std::map<std::string, ColumnType> types = {{"customer_id", ColumnType::Bigint()}};

  FileSettings files;

  // Tests only (never read from a configuration): keep this many low bits of every key id, so that keys are
  // made to collide in the merge's key index. 64: the real scheme.
  unsigned key_id_bits = 64;

  bool operator==(const EntitySpec&) const = default;

  ColumnType TypeOf(const std::string& column) const;
  // SCD1 then SCD2 columns: the order of attributes everywhere (raw, log, history, current).
  std::vector<std::string> attribute_columns() const;
  // The input columns as the raw table holds them: keys, attributes, sequence columns, operation.
  std::vector<std::string> input_columns() const;
  // The sequence columns after the first, each of which gets valid_from_<column> / valid_to_<column>.
  std::vector<std::string> extra_sequence_columns() const;
  // The type of the first sequence column (valid_from, valid_to); a timestamp when there is none (the
  // load's commit time).
  ColumnType sequence_type() const;
  // A file without the sequence columns takes its load's commit time as sequence: only for a single
  // timestamp sequence or none (SEMANTICS.md section 4).
  bool sequence_falls_back_to_load_time() const;
  // The key id a row's key maps to is the key itself (one bigint column), so two keys never share one.
  bool exact_key_id() const;
  // What an operation value means; nullopt when it is in none of the lists. `value` is compared trimmed of
  // spaces and tabs and case-insensitively.
  std::optional<Operation> OperationOf(std::string_view value) const;

  std::string raw_table() const { return name + "_raw"; }
  std::string stage_table() const { return name + "_stage"; }
  std::string log_table() const { return name + "_log"; }
  std::string truncates_table() const { return name + "_truncates"; }
  std::string history_table() const { return name + "_history"; }
  std::string current_table() const { return name + "_current"; }
  std::string rejects_table() const { return name + "_rejects"; }
  std::string merge_job() const { return name + "_merge"; }

  // Names are lower-case identifiers ([a-z][a-z0-9_]*, at most 48 characters), distinct, not reserved for
  // dimstream's own columns (a leading underscore, valid_from, valid_to, is_current); types name declared
  // columns; operation values appear in one list only. The message names the key to fix, prefixed with
  // `where` (e.g. "entities[1] (orders)").
  Status Validate(const std::string& where = "entity") const;
};

// True for [a-z_][a-z0-9_]{0,47}: the names dimstream accepts from configuration. They are quoted in SQL
// all the same (see warehouse/sql.h); this check keeps them portable across warehouse dialects.
bool IsValidName(const std::string& name);

// The entity whose file_pattern matches `object_key`; kInvalidInput naming the patterns when none or more
// than one does (the object is then recorded as failed).
Result<const EntitySpec*> RouteObject(const std::vector<EntitySpec>& entities, const std::string& object_key);

}  // namespace dimstream
