#include "loader/file_format.h"

#include "common/text.h"

namespace dimstream {
namespace {

constexpr std::string_view kKnownSuffixes =
    ".csv, .jsonl, .ndjson, .json or .parquet, optionally followed by .gz or .zst";

bool CutSuffix(std::string& name, std::string_view suffix) {
  if (name.size() > suffix.size() && name.ends_with(suffix)) {
    name.resize(name.size() - suffix.size());
    return true;
  }
  return false;
}

}  // namespace

std::optional<FileFormat> ParseFileFormat(std::string_view name) {
  if (name == "csv") {
    return FileFormat::kCsv;
  }
  if (name == "jsonl") {
    return FileFormat::kJsonLines;
  }
  if (name == "parquet") {
    return FileFormat::kParquet;
  }
  return std::nullopt;
}

std::string_view FileFormatName(FileFormat format) {
  switch (format) {
    case FileFormat::kCsv:
      return "csv";
    case FileFormat::kJsonLines:
      return "jsonl";
    case FileFormat::kParquet:
      return "parquet";
  }
  return "csv";
}

std::string Describe(const ObjectFormat& format) {
  std::string out(FileFormatName(format.format));
  if (format.compression == Compression::kGzip) {
    out += ".gz";
  } else if (format.compression == Compression::kZstd) {
    out += ".zst";
  }
  return out;
}

Result<ObjectFormat> FormatOf(std::string_view object_key, const std::string& forced) {
  std::string name = AsciiLower(object_key);
  ObjectFormat f;
  if (CutSuffix(name, ".gz")) {
    f.compression = Compression::kGzip;
  } else if (CutSuffix(name, ".zst")) {
    f.compression = Compression::kZstd;
  }
  if (!forced.empty()) {
    auto format = ParseFileFormat(forced);
    if (!format) {
      return Error::Invalid("loader.format must be csv, jsonl or parquet, not '" + forced + "'");
    }
    f.format = *format;
    return f;
  }
  if (CutSuffix(name, ".csv")) {
    f.format = FileFormat::kCsv;
  } else if (CutSuffix(name, ".jsonl") || CutSuffix(name, ".ndjson") || CutSuffix(name, ".json")) {
    f.format = FileFormat::kJsonLines;
  } else if (CutSuffix(name, ".parquet")) {
    f.format = FileFormat::kParquet;
  } else {
    return Error::Invalid("the object key '" + std::string(object_key) +
                          "' has no suffix that tells its format: name it " + std::string(kKnownSuffixes) +
                          ", or set loader.format for its entity");
  }
  return f;
}

}  // namespace dimstream
