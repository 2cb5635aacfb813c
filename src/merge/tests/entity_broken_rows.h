// Rows of the entity property test's files broken on purpose, each in one way that SEMANTICS.md section 2
// says the loader rejects: a field too many or too few, a key empty or not of its type, an attribute or a
// sequence value not of its type, an operation in no list, invalid UTF-8.
#pragma once

#include <string>
#include <vector>

#include "merge/tests/entity_records.h"
#include "merge/tests/entity_shapes.h"
#include "merge/tests/property_csv.h"
#include "merge/tests/property_support.h"

namespace dimstream::property::declared {

// A row the loader must reject, made from `fields` (a valid row of the file for record `model`) by
// breaking one thing. False when this file offers no way to break the chosen thing.
bool BreakRow(Rng& rng, const Shape& shape, const std::vector<std::string>& columns, const Record& model,
              std::vector<std::string>& fields, ExpectedReject& reject, bool& valid_utf8);

}  // namespace dimstream::property::declared
