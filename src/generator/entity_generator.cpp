#include "generator/entity_generator.h"

#include <fnmatch.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "generator/entity_stream.h"
#include "generator/landing_loop.h"

namespace dimstream {

Result<GenerateStats> GenerateEntity(
    const GenerateOptions& options, const EntitySpec& entity, const std::filesystem::path& landing,
    const StopSignal& stop,
    const std::function<void(const std::filesystem::path&, const GenerateStats&)>& on_file) {
  DIMSTREAM_TRY(ValidateGenerateOptions(options));
  DIMSTREAM_TRY(entity.Validate(fmt::format("entity '{}'", entity.name)));
  if (!entity.file_pattern.empty()) {
    // The object key of a generated file is its name: the files land at the top of `landing`.
    const std::string sample = fmt::format("{}_20250101000000_000001.csv", entity.name);
    if (fnmatch(entity.file_pattern.c_str(), sample.c_str(), 0) != 0) {
      return Error::Invalid(fmt::format(
          "entity '{}': its file_pattern \"{}\" does not match the files the generator writes for it "
          "({}_<UTC YYYYMMDDHHMMSS>_<n>.csv, like {}), so the loader would not route them to it; change the "
          "file_pattern",
          entity.name, entity.file_pattern, entity.name, sample));
    }
  }
  Result<std::unique_ptr<EntityStream>> made = EntityStream::Make(options, entity);
  if (!made.ok()) {
    return made.error();
  }
  EntityStream& stream = **made;
  if (options.event_time || options.with_op) {
    spdlog::debug(
        "generator: --event-time and --with-op do not apply to entity '{}': its declaration says "
        "which columns it has",
        entity.name);
  }
  return WriteLandingFiles(
      options, landing, entity.name, stream.Header(),
      [&stream]() -> Result<StreamRow> {
        Result<EntityRow> row = stream.Next();
        if (!row.ok()) {
          return row.error();
        }
        return StreamRow{row->kind, std::move(row->line)};
      },
      stop, on_file);
}

}  // namespace dimstream
