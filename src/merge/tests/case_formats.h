#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "config/entity.h"

namespace dimstream {

// The formats a behaviour case's CSV files are stored in for a run (SEMANTICS.md section 1): as written, or
// converted to a format the loader tells by the object key's suffix.
enum class CaseFormat { kCsv, kCsvGz, kCsvZst, kJsonLines, kParquet };

// "csv", "csv_gz", ...: a test name's part.
std::string_view CaseFormatName(CaseFormat format);
// The object key a case's file NAME.csv is stored under: NAME.csv.gz, NAME.jsonl, ... (the stem is kept, so
// the files' order and an entity's file_pattern still apply).
std::string StoredName(std::string_view csv_name, CaseFormat format);

// Writes `csv` (a case's file, read as `entity` reads CSV) to `path` in `format`. Compressed CSV keeps the
// bytes as they are. JSON lines and Parquet hold the records the CSV reader can read: a record it finds
// malformed (its field count differs from the header's, an unterminated quote, invalid UTF-8) has no
// equivalent there and is left out. An empty field is NULL in both, every other field a string.
Status WriteConverted(std::string_view csv, const EntitySpec& entity, CaseFormat format,
                      const std::filesystem::path& path);

// Why a case cannot run in `format`, or nullopt when it can: the entity forces loader.format (the suffix is
// not read), a file is not named *.csv, or (JSON lines, Parquet) one of its files fails whole as CSV (the
// header cannot be read or mapped: what the case shows is about CSV).
struct CaseFile {
  std::string name;
  std::string_view content;
};
std::optional<std::string> WhyNotIn(CaseFormat format, const std::vector<CaseFile>& files,
                                    const EntitySpec& entity);

}  // namespace dimstream
