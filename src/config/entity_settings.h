#pragma once

#include <string>
#include <vector>

#include <toml++/toml.h>

#include "config/config.h"

// The keys of an entity table ([entity] or one of [[entities]]), declared once: parsing, `dimstream config`
// and the README's table come from this declaration. Private to the config library.
namespace dimstream {

std::vector<SettingInfo> DescribeEntitySettings();

// How `dimstream config` shows a default: a TOML string ("x"), a TOML list of strings (["a", "b"]).
std::string Quote(const std::string& s);
std::string ListText(const std::vector<std::string>& v);

// One entity table over the built-in customer entity's defaults. `where` names it in messages
// ("entity", "entities[2]"). Unknown keys, wrong types and bad values are refused by name; the result is
// not yet validated (Validate needs the file pattern, which depends on the other entities).
Result<EntitySpec> ParseEntityTable(const toml::table& table, const std::string& where);

}  // namespace dimstream
