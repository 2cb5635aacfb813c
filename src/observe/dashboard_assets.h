#pragma once

#include <string_view>
#include <vector>

namespace dimstream {

// One file of the dashboard, as the HTTP server serves it.
struct DashboardAsset {
  std::string_view path;  // "/index.html", "/dashboard.js", ...
  std::string_view text;
};

// The dashboard's files (src/observe/dashboard/), built into the binary: the machines it runs on may have
// no internet, and nothing is installed beside the binary.
const std::vector<DashboardAsset>& DashboardAssets();

}  // namespace dimstream
