#pragma once

#include <string_view>

namespace dimstream {

// Names in landing that belong to a file or directory still being written, by the conventions writers
// use: hidden names (".customer_1.csv", rsync's temporary files) and "*.tmp" / "*.part". The mover never
// takes them; the writer renames them when done.
inline bool IsSkippedLandingName(std::string_view name) {
  return name.empty() || name.front() == '.' || name.ends_with(".tmp") || name.ends_with(".part");
}

}  // namespace dimstream
