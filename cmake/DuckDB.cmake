# Finds DuckDB 1.4.4's C API: an installed DuckDB under DUCKDB_ROOT (include/duckdb.h, lib/libduckdb.so),
# or the copy scripts/fetch-duckdb.sh unpacks into third_party/duckdb.
set(DUCKDB_ROOT "" CACHE PATH "Prefix of an installed DuckDB (include/duckdb.h and lib/libduckdb.so)")
set(_duckdb_hints ${DUCKDB_ROOT} ${CMAKE_CURRENT_SOURCE_DIR}/third_party/duckdb)
find_path(DUCKDB_INCLUDE_DIR duckdb.h HINTS ${_duckdb_hints} PATH_SUFFIXES include NO_DEFAULT_PATH)
find_library(DUCKDB_LIBRARY duckdb HINTS ${_duckdb_hints} PATH_SUFFIXES lib NO_DEFAULT_PATH)
if(NOT DUCKDB_INCLUDE_DIR OR NOT DUCKDB_LIBRARY)
  find_path(DUCKDB_INCLUDE_DIR duckdb.h)
  find_library(DUCKDB_LIBRARY duckdb)
endif()
if(NOT DUCKDB_INCLUDE_DIR OR NOT DUCKDB_LIBRARY)
  message(FATAL_ERROR "DuckDB not found: run scripts/fetch-duckdb.sh, or pass -DDUCKDB_ROOT=<prefix>")
endif()
message(STATUS "DuckDB: ${DUCKDB_LIBRARY}")
add_library(duckdb::duckdb SHARED IMPORTED GLOBAL)
set_target_properties(duckdb::duckdb PROPERTIES IMPORTED_LOCATION ${DUCKDB_LIBRARY}
                      INTERFACE_INCLUDE_DIRECTORIES ${DUCKDB_INCLUDE_DIR})
get_filename_component(DUCKDB_LIBRARY_DIR ${DUCKDB_LIBRARY} DIRECTORY)
# The binary finds libduckdb.so without LD_LIBRARY_PATH.
set(CMAKE_BUILD_RPATH ${DUCKDB_LIBRARY_DIR})
set(CMAKE_INSTALL_RPATH ${DUCKDB_LIBRARY_DIR})
