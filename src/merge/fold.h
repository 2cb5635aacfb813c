#pragma once

#include <vector>

#include "config/entity.h"
#include "warehouse/warehouse.h"

namespace dimstream {

// The dimension as a pure function of the records (SEMANTICS.md section 5). `records` are one key's
// retained records ordered by (sequence, arrival); the versions it opens are appended to `out`.
// Records sharing a sequence: the last arrival wins, the others leave no trace. `scd1_count` says how
// many leading attributes are SCD Type 1; the rest are SCD Type 2.
void FoldKey(const std::vector<LogRecord>& records, size_t scd1_count, std::vector<Version>& out);

}  // namespace dimstream
