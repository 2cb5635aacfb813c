#include "config/entity.h"

#include <set>

namespace dimstream {

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

std::vector<std::string> EntitySpec::attribute_columns() const {
  std::vector<std::string> out = scd1_columns;
  out.insert(out.end(), scd2_columns.begin(), scd2_columns.end());
  return out;
}

Status EntitySpec::Validate() const {
  if (!IsValidName(name) || name.front() == '_') {
    return Error::Invalid(
        "entity.name '" + name +
        "' is not a valid name: use lower-case letters, digits and '_', starting with a letter");
  }
  if (key_columns.size() != 1) {
    return Error::Invalid(
        "entity.key_columns must name exactly one column (a 64-bit integer key); composite keys "
        "are not supported yet");
  }
  if (scd1_columns.empty() && scd2_columns.empty()) {
    return Error::Invalid("entity: declare at least one SCD1 or SCD2 column");
  }
  std::set<std::string> seen;
  std::vector<std::string> all = key_columns;
  all.insert(all.end(), scd1_columns.begin(), scd1_columns.end());
  all.insert(all.end(), scd2_columns.begin(), scd2_columns.end());
  if (!sequence_column.empty()) {
    all.push_back(sequence_column);
  }
  if (!operation_column.empty()) {
    all.push_back(operation_column);
  }
  for (const auto& column : all) {
    if (!IsValidName(column) || column.front() == '_') {
      return Error::Invalid(
          "entity column '" + column +
          "' is not a valid name: use lower-case letters, digits and '_', starting with a letter");
    }
    if (!seen.insert(column).second) {
      return Error::Invalid("entity column '" + column + "' is declared twice");
    }
  }
  return Ok();
}

}  // namespace dimstream
