#include "config/entity.h"

#include <fnmatch.h>

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "common/text.h"

namespace dimstream {
namespace {

// Operation values compare trimmed and case-insensitively.
bool SameFolded(std::string_view a, std::string_view b) {
  return EqualsIgnoringCase(TrimBlanks(a), TrimBlanks(b));
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Names dimstream's own tables give meaning to (history and current) or that its global tables use.
bool Reserved(const std::string& column) {
  return column == "valid_from" || column == "valid_to" || column == "is_current" ||
         column.rfind("valid_from_", 0) == 0 || column.rfind("valid_to_", 0) == 0;
}

}  // namespace

bool IsValidName(const std::string& name) {
  if (name.empty() || name.size() > 48) {
    return false;
  }
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) {
      return false;
    }
  }
  return true;
}

ColumnType EntitySpec::TypeOf(const std::string& column) const {
  auto it = types.find(column);
  if (it != types.end()) {
    return it->second;
  }
  return Contains(sequence_columns, column) ? ColumnType::Timestamp() : ColumnType::Text();
}

std::vector<std::string> EntitySpec::attribute_columns() const {
  std::vector<std::string> out = scd1_columns;
  out.insert(out.end(), scd2_columns.begin(), scd2_columns.end());
  return out;
}

std::vector<std::string> EntitySpec::input_columns() const {
  std::vector<std::string> out = key_columns;
  for (const auto& c : attribute_columns()) {
    out.push_back(c);
  }
  out.insert(out.end(), sequence_columns.begin(), sequence_columns.end());
  if (!operation_column.empty()) {
    out.push_back(operation_column);
  }
  return out;
}

std::vector<std::string> EntitySpec::extra_sequence_columns() const {
  if (sequence_columns.size() <= 1) {
    return {};
  }
  return {sequence_columns.begin() + 1, sequence_columns.end()};
}

ColumnType EntitySpec::sequence_type() const {
  return sequence_columns.empty() ? ColumnType::Timestamp() : TypeOf(sequence_columns.front());
}

bool EntitySpec::sequence_falls_back_to_load_time() const {
  return sequence_columns.empty() ||
         (sequence_columns.size() == 1 && TypeOf(sequence_columns.front()).kind == TypeKind::kTimestamp);
}

bool EntitySpec::exact_key_id() const {
  return key_columns.size() == 1 && TypeOf(key_columns.front()).kind == TypeKind::kBigint &&
         key_id_bits >= 64;
}

std::optional<Operation> EntitySpec::OperationOf(std::string_view value) const {
  for (const auto& v : delete_values) {
    if (SameFolded(v, value)) {
      return Operation::kDelete;
    }
  }
  for (const auto& v : upsert_values) {
    if (SameFolded(v, value)) {
      return Operation::kUpsert;
    }
  }
  for (const auto& v : truncate_values) {
    if (SameFolded(v, value)) {
      return Operation::kTruncate;
    }
  }
  return std::nullopt;
}

Status EntitySpec::Validate(const std::string& where) const {
  // Messages name the key to fix: "entity.name ...", "entities[2]: column ...".
  auto fail = [&](const std::string& message) {
    return Error::Invalid(where + (message.rfind('.', 0) == 0 ? "" : ": ") + message);
  };
  if (!IsValidName(name) || name.front() == '_') {
    return fail(".name '" + name +
                "' is not a valid name: use lower-case letters, digits and '_', starting with a letter");
  }
  if (name == "load" || name == "task") {
    // Their history tables would be the global load_history and task_history.
    return fail(".name '" + name +
                "' is reserved (its tables would clash with load_history or task_history)");
  }
  if (key_columns.empty()) {
    return fail(".key_columns must name at least one column");
  }
  std::set<std::string> seen;
  std::vector<std::string> all = input_columns();
  for (const auto& column : all) {
    if (!IsValidName(column) || column.front() == '_') {
      return fail("column '" + column +
                  "' is not a valid name: use lower-case letters, digits and '_', starting with a letter");
    }
    if (Reserved(column)) {
      return fail("column '" + column +
                  "' is a name dimstream's history and current tables use (valid_from, valid_to, "
                  "is_current, valid_from_*, valid_to_*): rename it in the files or leave it undeclared");
    }
    if (!seen.insert(column).second) {
      return fail("column '" + column + "' is declared twice");
    }
  }
  for (const auto& [column, type] : types) {
    if (!seen.count(column)) {
      return fail(".types names column '" + column +
                  "', which is not a key, attribute or sequence column of the entity");
    }
    if (column == operation_column && type.kind != TypeKind::kText) {
      return fail(".types: the operation column '" + column + "' is text; remove it from types");
    }
  }
  if (operation_column.empty() && !truncate_values.empty()) {
    return fail(".truncate_values needs an operation_column");
  }
  if (!operation_column.empty()) {
    std::vector<std::pair<std::string, const std::vector<std::string>*>> lists = {
        {"delete_values", &delete_values},
        {"upsert_values", &upsert_values},
        {"truncate_values", &truncate_values}};
    std::vector<std::pair<std::string, std::string>> values;  // list, value
    for (const auto& [list, items] : lists) {
      for (const auto& v : *items) {
        for (const auto& [other_list, other] : values) {
          if (SameFolded(v, other)) {
            return fail(
                fmt::format("operation value '{}' is in {} and {} (values are compared trimmed and "
                            "case-insensitively)",
                            v, other_list, list));
          }
        }
        values.emplace_back(list, v);
      }
    }
    if (delete_values.empty() && upsert_values.empty()) {
      return fail(".upsert_values and delete_values cannot both be empty");
    }
  }
  if (key_id_bits == 0 || key_id_bits > 64) {
    return fail(".key_id_bits must be 1..64");
  }
  return Ok();
}

Result<const EntitySpec*> RouteObject(const std::vector<EntitySpec>& entities,
                                      const std::string& object_key) {
  std::vector<const EntitySpec*> matches;
  for (const auto& e : entities) {
    if (fnmatch(e.file_pattern.c_str(), object_key.c_str(), 0) == 0) {
      matches.push_back(&e);
    }
  }
  if (matches.size() == 1) {
    return matches.front();
  }
  std::string patterns;
  for (const auto& e : entities) {
    patterns += fmt::format("{}{} = \"{}\"", patterns.empty() ? "" : ", ", e.name, e.file_pattern);
  }
  if (matches.empty()) {
    return Error::Invalid(fmt::format(
        "the object key matches no entity's file_pattern ({}); rename the file or change a file_pattern",
        patterns));
  }
  std::string names;
  for (const auto* e : matches) {
    names += (names.empty() ? "" : " and ") + e->name;
  }
  return Error::Invalid(fmt::format(
      "the object key matches the file_pattern of {} ({}); make the patterns exclusive", names, patterns));
}

}  // namespace dimstream
