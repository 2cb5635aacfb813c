#pragma once

#include "bench/scaleout/scaleout.h"

namespace dimstream::scaleout {

// Prints every phase's figures and the checks; true when every check held.
bool PrintReport(const Context& c, const Results& r);

}  // namespace dimstream::scaleout
