#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "common/error.h"
#include "common/stop.h"
#include "generator/change_stream.h"
#include "generator/generator.h"

namespace dimstream {

// The next row of a generator's stream; an error ends the run (a sequence that ran out of values).
using NextRow = std::function<Result<StreamRow>()>;
using OnGeneratedFile = std::function<void(const std::filesystem::path&, const GenerateStats&)>;

// The file-writing loop that Generate (customers) and GenerateEntity (declared entities) share: creates
// `landing`, then writes `header` and rows of `next` into files of options.rows_per_file rows named
// <prefix>_<UTC YYYYMMDDHHMMSS>_<n>.csv through LandingFileWriter, at options.rate, with the progress bar,
// until options.rows are written or `stop` is requested (the file in progress is then published with the
// rows it has). `options` must have passed ValidateGenerateOptions. Runs on the caller's thread.
Result<GenerateStats> WriteLandingFiles(const GenerateOptions& options, const std::filesystem::path& landing,
                                        const std::string& prefix, const std::string& header,
                                        const NextRow& next, const StopSignal& stop,
                                        const OnGeneratedFile& on_file);

}  // namespace dimstream
