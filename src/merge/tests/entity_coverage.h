// The entity property test's coverage: the situations a case exercised that depend on the entity, the
// files and the merge schedule rather than on the fold (ReferenceFold collects those), for the table
// ReferenceFold prints after its cases.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "merge/tests/entity_files.h"
#include "merge/tests/entity_records.h"

namespace dimstream::property::declared {

void PlanFeatures(const Case& c, const std::vector<FilePlan>& files,
                  const std::map<std::string, Micros>& load_sequence, std::set<std::string>& features);

}  // namespace dimstream::property::declared
