#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "loader/decompress.h"

namespace dimstream {

enum class FileFormat { kCsv, kJsonLines, kParquet };

// How an object is read: its format, then its compression.
struct ObjectFormat {
  FileFormat format = FileFormat::kCsv;
  Compression compression = Compression::kNone;
  bool operator==(const ObjectFormat&) const = default;
};

// The format an object key's suffix tells (SEMANTICS.md section 1): `.csv`, `.jsonl`, `.ndjson`, `.json`,
// `.parquet`, each optionally followed by `.gz` or `.zst` (compared case-insensitively). `forced` (an
// entity's loader.format: "csv", "jsonl" or "parquet"; empty: none) overrides the format while the suffix
// still tells the compression. kInvalidInput listing the suffixes when the key has none of them.
Result<ObjectFormat> FormatOf(std::string_view object_key, const std::string& forced = {});

// "csv", "jsonl" or "parquet"; nullopt for any other name.
std::optional<FileFormat> ParseFileFormat(std::string_view name);
std::string_view FileFormatName(FileFormat format);
// "csv", "csv.gz", "jsonl.zst", ...: what `status --files` shows.
std::string Describe(const ObjectFormat& format);

}  // namespace dimstream
