#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace dimstream {

// The shape of one pipeline: which input columns are the key, which are SCD Type 1 and Type 2 attributes,
// and which carry the sequence (event time) and the operation. The customer entity is the built-in
// default; a configuration file can declare another. Validated before anything touches a file.
struct EntitySpec {
  std::string name = "customer";
  std::vector<std::string> key_columns = {"customer_id"};
  std::vector<std::string> scd1_columns = {"first_name", "last_name", "email"};
  std::vector<std::string> scd2_columns = {"street", "city", "state", "country"};
  std::string sequence_column = "updated_at";  // empty: no event time, the load's commit time orders
  std::string operation_column = "op";         // empty: every record is an upsert

  const std::string& key_column() const { return key_columns.front(); }
  // SCD1 then SCD2 columns: the order of attributes everywhere (raw, log, history, current).
  std::vector<std::string> attribute_columns() const;

  std::string raw_table() const { return name + "_raw"; }
  std::string stage_table() const { return name + "_stage"; }
  std::string log_table() const { return name + "_log"; }
  std::string history_table() const { return name + "_history"; }
  std::string current_table() const { return name + "_current"; }
  std::string rejects_table() const { return name + "_rejects"; }
  std::string merge_job() const { return name + "_merge"; }

  // Names are lower-case identifiers ([a-z_][a-z0-9_]*, at most 48 characters), distinct, not reserved
  // for dimstream's own columns (leading underscore) and, for now, exactly one 64-bit integer key column.
  Status Validate() const;
};

// True for [a-z_][a-z0-9_]{0,47}: the names dimstream accepts from configuration. They are quoted in SQL
// all the same (see warehouse/sql.h); this check keeps them portable across warehouse dialects.
bool IsValidName(const std::string& name);

}  // namespace dimstream
