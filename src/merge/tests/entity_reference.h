// The entity property test's reference: SEMANTICS.md sections 4 and 5 written plainly, on values by their
// typed meaning, folding the records a plan's files should load into the history and current tables the
// merge must produce (in the text the tables' queries render them as, see Canon).
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "merge/tests/entity_files.h"
#include "merge/tests/entity_records.h"
#include "merge/tests/property_support.h"

namespace dimstream::property::declared {

// The sequence of row `e` of `file`: its own, or a load's commit time (`load_sequence`: object key ->
// load_history.sequence_time).
std::vector<Val> SeqOf(const std::vector<FilePlan>& files, size_t file, const Effective& e,
                       const std::map<std::string, Micros>& load_sequence);

// history: keys, attributes, valid_from..., valid_to..., is_current; current: keys, attributes,
// valid_from...; both sorted. `features`, when given, collects which situations of SEMANTICS.md sections 4
// and 5 the case exercised.
Tables ReferenceFold(const Case& c, const std::vector<FilePlan>& files,
                     const std::map<std::string, Micros>& load_sequence,
                     std::set<std::string>* features = nullptr);

}  // namespace dimstream::property::declared
