#pragma once

#include <functional>
#include <string>
#include <vector>

#include "config/entity.h"
#include "warehouse/warehouse.h"

namespace dimstream {

// Verifies SEMANTICS.md section 5's invariants on the warehouse: at most one current version per key;
// is_current exactly when valid_to is NULL; versions of a key do not overlap and each closed version's
// valid_to is the next version's valid_from unless a delete ended it; current equals the open versions
// of history, one row per key. Returns one line per failed invariant, naming up to 20 keys; empty when all
// hold. `query` runs one SQL query: the warehouse's own, or a running process's through its query socket.
using QueryFn = std::function<Result<QueryResult>(const std::string&)>;
Result<std::vector<std::string>> CheckInvariants(const QueryFn& query, const EntitySpec& entity);
Result<std::vector<std::string>> CheckInvariants(Warehouse& warehouse, const EntitySpec& entity);

}  // namespace dimstream
