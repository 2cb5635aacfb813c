#pragma once

#include <filesystem>
#include <functional>

#include "common/error.h"
#include "common/stop.h"
#include "config/entity.h"
#include "generator/generator.h"

// Role 1 of SEED.md for any declared entity: `dimstream generate --entity NAME`. The same flags, files and
// behaviour as the customer generator (generator.h), with rows shaped by the entity's declaration: its key,
// attribute, sequence and operation columns and their types (SEMANTICS.md section 1).
namespace dimstream {

// Writes files for `entity` into `landing` as Generate does for customers (same GenerateOptions, same
// atomic file publication, same pacing, progress and stop behaviour, same GenerateStats), named
// <entity.name>_<UTC YYYYMMDDHHMMSS>_<n>.csv. kInvalidInput when an option cannot apply to the entity
// (late_share > 0 without sequence columns; delete_share > 0 without an operation column or delete
// values; ...) or when the entity's file_pattern (if not empty) would not match the file names written.
//
// Every file has a header with every input column of the entity (EntitySpec::input_columns); --event-time
// and --with-op do not apply (the declaration says which columns exist). The content is a function of
// `options` and `entity` alone (see EntityStream). Runs on the caller's thread.
Result<GenerateStats> GenerateEntity(
    const GenerateOptions& options, const EntitySpec& entity, const std::filesystem::path& landing,
    const StopSignal& stop,
    const std::function<void(const std::filesystem::path&, const GenerateStats&)>& on_file);

}  // namespace dimstream
