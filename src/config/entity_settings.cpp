#include "config/entity_settings.h"

#include <algorithm>
#include <functional>
#include <set>

#include <fmt/format.h>

namespace dimstream {
namespace {

struct EntitySetting {
  SettingInfo info;  // key without the "entity." prefix
  std::function<Status(EntitySpec&, const toml::node&, const std::string& key)> set;
};

Result<std::vector<std::string>> StringList(const toml::node& n, const std::string& key) {
  const toml::array* a = n.as_array();
  if (a == nullptr) {
    return Error::Invalid(fmt::format("'{}' must be a list of strings", key));
  }
  std::vector<std::string> out;
  for (const auto& item : *a) {
    auto v = item.value_exact<std::string>();
    if (!v) {
      return Error::Invalid(fmt::format("'{}' must be a list of strings", key));
    }
    out.push_back(*v);
  }
  return out;
}

Result<std::string> String(const toml::node& n, const std::string& key) {
  auto v = n.value_exact<std::string>();
  if (!v) {
    return Error::Invalid(fmt::format("'{}' must be a string", key));
  }
  return *v;
}

Result<char> OneCharacter(const toml::node& n, const std::string& key) {
  auto v = String(n, key);
  if (!v.ok()) {
    return v.error();
  }
  if (*v == "tab" || *v == "\\t") {
    return '\t';
  }
  if (v->size() != 1 || (*v)[0] == '\n' || (*v)[0] == '\r') {
    return Error::Invalid(fmt::format("'{}' must be one character (or \"tab\"), not \"{}\"", key, *v));
  }
  return (*v)[0];
}

Status ParseFileSettings(const toml::node& n, const std::string& where, FileSettings& f) {
  const toml::table* t = n.as_table();
  if (t == nullptr) {
    return Error::Invalid(
        fmt::format("'{}' must be a table (format, delimiter, quote, escape, header, columns)", where));
  }
  bool escape_set = false;
  for (const auto& [k, node] : *t) {
    std::string name(k.str());
    std::string key = where + "." + name;
    if (name == "format") {
      auto v = String(node, key);
      if (!v.ok()) {
        return v.error();
      }
      if (!v->empty() && *v != "csv" && *v != "jsonl" && *v != "parquet") {
        return Error::Invalid(
            fmt::format("'{}' must be \"csv\", \"jsonl\" or \"parquet\" (or empty), not \"{}\"", key, *v));
      }
      f.format = *v;
    } else if (name == "delimiter" || name == "quote" || name == "escape") {
      auto c = OneCharacter(node, key);
      if (!c.ok()) {
        return c.error();
      }
      (name == "delimiter" ? f.delimiter : name == "quote" ? f.quote : f.escape) = *c;
      escape_set = escape_set || name == "escape";
    } else if (name == "header") {
      auto v = node.value_exact<bool>();
      if (!v) {
        return Error::Invalid(fmt::format("'{}' must be true or false", key));
      }
      f.header = *v;
    } else if (name == "columns") {
      auto v = StringList(node, key);
      if (!v.ok()) {
        return v.error();
      }
      f.columns = std::move(*v);
    } else {
      return Error::Invalid(
          fmt::format("unknown configuration key '{}' (the loader table has format, delimiter, quote, "
                      "escape, header, columns)",
                      key));
    }
  }
  if (!escape_set) {
    f.escape = f.quote;
  }
  if (f.delimiter == f.quote) {
    return Error::Invalid(fmt::format("'{}': the delimiter and the quote must differ", where));
  }
  if (!f.header && f.columns.empty()) {
    return Error::Invalid(
        fmt::format("'{}': header = false needs columns = [...] naming the fields in order", where));
  }
  if (f.header && !f.columns.empty()) {
    return Error::Invalid(
        fmt::format("'{}': columns is for header = false; a file with a header names its own", where));
  }
  return Ok();
}

EntitySetting TextKey(std::string key, std::string description, std::string EntitySpec::*field) {
  EntitySpec defaults;
  return {{std::move(key), "string", Quote(defaults.*field), std::move(description)},
          [field](EntitySpec& e, const toml::node& n, const std::string& k) -> Status {
            auto v = String(n, k);
            if (!v.ok()) {
              return v.error();
            }
            e.*field = *v;
            return Ok();
          }};
}

EntitySetting ListKey(std::string key, std::string description, std::vector<std::string> EntitySpec::*field) {
  EntitySpec defaults;
  return {{std::move(key), "list of strings", ListText(defaults.*field), std::move(description)},
          [field](EntitySpec& e, const toml::node& n, const std::string& k) -> Status {
            auto v = StringList(n, k);
            if (!v.ok()) {
              return v.error();
            }
            e.*field = std::move(*v);
            return Ok();
          }};
}

const std::vector<EntitySetting>& EntitySettings() {
  static const std::vector<EntitySetting> settings = [] {
    std::vector<EntitySetting> s;
    s.push_back(TextKey("name", "Entity name: the tables are <name>_raw, <name>_history, <name>_current, ...",
                        &EntitySpec::name));
    s.push_back({{"file_pattern", "string (glob)", "\"*\" with one entity, \"<name>_*\" with several",
                  "Glob on the object key that routes a file to this entity ('*' also matches '/')"},
                 [](EntitySpec& e, const toml::node& n, const std::string& k) -> Status {
                   auto v = String(n, k);
                   if (!v.ok()) {
                     return v.error();
                   }
                   if (v->empty()) {
                     return Error::Invalid(fmt::format("'{}' must not be empty", k));
                   }
                   e.file_pattern = *v;
                   return Ok();
                 }});
    s.push_back(ListKey("key_columns",
                        "The business key: one or more columns of any type, compared column by column",
                        &EntitySpec::key_columns));
    s.push_back(
        ListKey("scd1_columns", "Attributes overwritten in place (SCD Type 1)", &EntitySpec::scd1_columns));
    s.push_back(ListKey("scd2_columns", "Attributes whose change opens a new version (SCD Type 2)",
                        &EntitySpec::scd2_columns));
    s.push_back(
        ListKey("sequence_columns",
                "What orders a key's records, compared lexicographically (e.g. a log sequence number, then "
                "a position); empty: the commit order of the loads",
                &EntitySpec::sequence_columns));
    s.push_back(
        {{"sequence_column", "string", "(see sequence_columns)",
          "One sequence column: the same as sequence_columns = [\"x\"]; \"\" is sequence_columns = []"},
         [](EntitySpec& e, const toml::node& n, const std::string& k) -> Status {
           auto v = String(n, k);
           if (!v.ok()) {
             return v.error();
           }
           e.sequence_columns = v->empty() ? std::vector<std::string>{} : std::vector<std::string>{*v};
           return Ok();
         }});
    s.push_back(TextKey("operation_column",
                        "The column saying what a record does; empty: every record is an upsert",
                        &EntitySpec::operation_column));
    s.push_back(ListKey("delete_values",
                        "Operation values that delete (compared trimmed, case-insensitively)",
                        &EntitySpec::delete_values));
    s.push_back(ListKey("upsert_values", "Operation values that insert or update; \"\" is an empty field",
                        &EntitySpec::upsert_values));
    s.push_back(ListKey("truncate_values",
                        "Operation values that close every key's current version at the record's sequence",
                        &EntitySpec::truncate_values));
    s.push_back(
        {{"scd1_scope", "one of [\"current\", \"all_versions\"]", "\"current\"",
          "Where an SCD1 change lands: the current version only, or every version of the key (Type 6)"},
         [](EntitySpec& e, const toml::node& n, const std::string& k) -> Status {
           auto v = String(n, k);
           if (!v.ok()) {
             return v.error();
           }
           if (*v != "current" && *v != "all_versions") {
             return Error::Invalid(
                 fmt::format("'{}' must be one of [\"current\", \"all_versions\"], not \"{}\"", k, *v));
           }
           e.scd1_scope = *v == "current" ? Scd1Scope::kCurrent : Scd1Scope::kAllVersions;
           return Ok();
         }});
    s.push_back(
        {{"types", "table: column = type", "customer_id = \"bigint\" while key_columns is the default",
          "Column types: text, bigint, double, decimal(p,s), boolean, date, timestamp; a column not named "
          "is text, a sequence column timestamp"},
         [](EntitySpec& e, const toml::node& n, const std::string& k) -> Status {
           const toml::table* t = n.as_table();
           if (t == nullptr) {
             return Error::Invalid(fmt::format("'{}' must be a table of column = \"type\"", k));
           }
           e.types.clear();
           for (const auto& [column, type_node] : *t) {
             std::string key = k + "." + std::string(column.str());
             auto text = String(type_node, key);
             if (!text.ok()) {
               return text.error();
             }
             auto type = ParseColumnType(*text);
             if (!type.ok()) {
               return type.error().Context("'" + key + "'");
             }
             e.types[std::string(column.str())] = *type;
           }
           return Ok();
         }});
    s.push_back(
        {{"loader", "table", "{ format = \"\", delimiter = \",\", quote = \"\\\"\", header = true }",
          "How files are read: format (csv, jsonl, parquet; empty: told by the suffix .csv, .jsonl, "
          ".ndjson, .json, .parquet, each optionally .gz or .zst), and for CSV delimiter (one character, "
          "or \"tab\"), quote, escape (inside quotes, escape + c is c; the quote itself: \"\" is a "
          "quote), header (false: columns = [...] names the fields in order)"},
         [](EntitySpec& e, const toml::node& n, const std::string& k) -> Status {
           return ParseFileSettings(n, k, e.files);
         }});
    return s;
  }();
  return settings;
}

}  // namespace

std::string Quote(const std::string& s) {
  return fmt::format("\"{}\"", s);
}

std::string ListText(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    out += (i ? ", " : "") + Quote(v[i]);
  }
  return out + "]";
}

std::vector<SettingInfo> DescribeEntitySettings() {
  std::vector<SettingInfo> out;
  for (const auto& s : EntitySettings()) {
    out.push_back(s.info);
  }
  return out;
}

Result<EntitySpec> ParseEntityTable(const toml::table& table, const std::string& where) {
  EntitySpec e;
  const auto& settings = EntitySettings();
  if (table.contains("sequence_column") && table.contains("sequence_columns")) {
    return Error::Invalid(fmt::format("{}: give sequence_column or sequence_columns, not both", where));
  }
  // By key, not in the table's order: a key's meaning may depend on another (types on key_columns).
  for (const auto& [k, node] : table) {
    std::string key(k.str());
    bool known = std::any_of(settings.begin(), settings.end(),
                             [&](const EntitySetting& s) { return s.info.key == key; });
    if (!known) {
      return Error::Invalid(
          fmt::format("unknown configuration key '{}.{}' (see `dimstream config` for the keys)", where, key));
    }
  }
  for (const auto& s : settings) {
    const toml::node* node = table.get(s.info.key);
    if (node == nullptr) {
      continue;
    }
    DIMSTREAM_TRY(s.set(e, *node, where + "." + s.info.key));
  }
  // The built-in entity's key is a bigint; an entity that names its own key declares its own types.
  if (table.contains("key_columns") && !table.contains("types")) {
    e.types.clear();
  }
  return e;
}

}  // namespace dimstream
