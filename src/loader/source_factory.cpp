#include "loader/source_factory.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>

#include <fmt/format.h>

#include "loader/csv_source.h"
#include "loader/json_source.h"
#include "loader/parquet_source.h"

namespace dimstream {
namespace fs = std::filesystem;

Result<size_t> DigestingStream::Read(char* buffer, size_t size) {
  auto got = inner_->Read(buffer, size);
  if (got.ok()) {
    hasher_.Update(std::string_view(buffer, *got));
    size_ += *got;
  }
  return got;
}

Result<FileDigest> DigestingStream::Finish() {
  std::string block(1 << 20, '\0');
  while (true) {
    auto got = Read(block.data(), block.size());
    if (!got.ok()) {
      return got.error();
    }
    if (*got == 0) {
      break;
    }
  }
  return FileDigest{hasher_.Finish(), size_};
}

Result<size_t> CountingStream::Read(char* buffer, size_t size) {
  auto got = inner_->Read(buffer, size);
  if (got.ok()) {
    count_ += *got;
  }
  return got;
}

OpenedObject::~OpenedObject() {
  source.reset();  // closes the file before it goes
  if (!temp_file.empty()) {
    std::error_code ec;
    fs::remove(temp_file, ec);
  }
}

namespace {

// The columns a JSON lines file is read for: every input column of the entity; sequence columns only when
// the file's first object has them (a file without them takes its load time as sequence).
void JsonColumns(const EntitySpec& e, std::vector<std::string>& columns, std::vector<std::string>& optional) {
  for (const std::string& c : e.input_columns()) {
    bool sequence =
        std::find(e.sequence_columns.begin(), e.sequence_columns.end(), c) != e.sequence_columns.end();
    (sequence ? optional : columns).push_back(c);
  }
}

// Copies `in` to a new file in `dir` (a Parquet reader needs random access).
Result<fs::path> CopyToTempFile(ByteStream& in, const fs::path& dir, uint64_t& copied) {
  static std::atomic<uint64_t> sequence{0};
  std::error_code ec;
  fs::path base = dir.empty() ? fs::temp_directory_path(ec) : dir;
  fs::create_directories(base, ec);
  fs::path path = base / fmt::format("dimstream-load-{}-{}.parquet", ::getpid(), sequence++);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    return Error::Retryable("cannot write a temporary copy at " + path.string());
  }
  std::string block(1 << 20, '\0');
  while (true) {
    auto got = in.Read(block.data(), block.size());
    if (!got.ok()) {
      out.close();
      fs::remove(path, ec);
      return got.error();
    }
    if (*got == 0) {
      break;
    }
    out.write(block.data(), static_cast<std::streamsize>(*got));
    copied += *got;
  }
  out.close();
  if (!out) {
    fs::remove(path, ec);
    return Error::Retryable("cannot write a temporary copy at " + path.string() + " (is the disk full?)");
  }
  return path;
}

}  // namespace

Result<OpenedObject> OpenObject(ObjectStore& store, const ObjectInfo& object, const EntitySpec& entity,
                                const ReaderLimits& limits) {
  auto format = FormatOf(object.key.get(), entity.files.format);
  if (!format.ok()) {
    return format.error();
  }
  auto stream = store.Open(object.key);
  if (!stream.ok()) {
    return stream.error();
  }
  OpenedObject opened;
  opened.format = *format;
  auto digesting = std::make_unique<DigestingStream>(std::move(*stream));
  opened.digest = digesting.get();
  const FileSettings& f = entity.files;
  if (format->format == FileFormat::kParquet) {
    std::optional<fs::path> local = store.LocalFile(object.key);
    fs::path file;
    if (local && format->compression == Compression::kNone) {
      file = *local;  // read in place; the digest reads the stream at Finish
      opened.uncompressed = object.size;
      opened.held = std::move(digesting);
    } else {
      opened.held = Decompressing(format->compression, std::move(digesting), limits.inflate);
      auto copy = CopyToTempFile(*opened.held, limits.temp_dir, opened.uncompressed);
      if (!copy.ok()) {
        return copy.error();
      }
      opened.temp_file = *copy;
      file = *copy;
    }
    opened.source = std::make_unique<ParquetSource>(file, limits.parquet_memory_limit);
    return opened;
  }
  auto counting = std::make_unique<CountingStream>(
      Decompressing(format->compression, std::move(digesting), limits.inflate));
  opened.decompressed = counting.get();
  if (format->format == FileFormat::kJsonLines) {
    std::vector<std::string> columns, optional;
    JsonColumns(entity, columns, optional);
    opened.source = std::make_unique<JsonLinesSource>(std::move(counting), std::move(columns),
                                                      std::move(optional), limits.max_record_bytes);
    return opened;
  }
  CsvOptions csv;
  csv.dialect = CsvDialect{f.delimiter, f.quote, f.escape};
  csv.header = f.header;
  csv.columns = f.columns;
  csv.max_record_bytes = limits.max_record_bytes;
  opened.source = std::make_unique<CsvSource>(std::move(counting), std::move(csv));
  return opened;
}

Result<FileDigest> DigestObject(ObjectStore& store, const ObjectKey& key) {
  auto stream = store.Open(key);
  if (!stream.ok()) {
    return stream.error();
  }
  return Sha256Stream(**stream);
}

}  // namespace dimstream
