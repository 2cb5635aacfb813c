# Turns the dashboard's files into C++ at build time, so that the binary serves them with nothing beside it.
# Usage: cmake -DASSETS_DIR=<dir> -DFILES=index.html,dashboard.js,... -DOUTPUT=<file.cpp> -P embed_assets.cmake
# Each file becomes one entry of DashboardAssets() (observe/dashboard_assets.h), its text verbatim in a raw
# string literal.
string(REPLACE "," ";" files "${FILES}")
set(out "// Generated from src/observe/dashboard/ by src/observe/embed_assets.cmake. Do not edit.\n")
string(APPEND out "#include \"observe/dashboard_assets.h\"\n\nnamespace dimstream {\n\n")
string(APPEND out "const std::vector<DashboardAsset>& DashboardAssets() {\n")
string(APPEND out "  static const std::vector<DashboardAsset> assets = {\n")
foreach(name IN LISTS files)
  file(READ "${ASSETS_DIR}/${name}" text)
  string(FIND "${text}" ")dimstream_asset\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${ASSETS_DIR}/${name} contains the raw string delimiter")
  endif()
  string(APPEND out "      {\"/${name}\", R\"dimstream_asset(${text})dimstream_asset\"},\n")
endforeach()
string(APPEND out "  };\n  return assets;\n}\n\n}  // namespace dimstream\n")
file(WRITE "${OUTPUT}.new" "${out}")
file(COPY_FILE "${OUTPUT}.new" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.new")
