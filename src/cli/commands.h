#pragma once

#include <CLI/CLI.hpp>

#include "cli/app_context.h"
#include "common/stop.h"

namespace dimstream {

// Adds every subcommand to `app`. Each command reads `globals` when it runs and returns its exit code
// through `exit_code`. Commands are thin: they build adapters, wire roles together and report.
void AddCommands(CLI::App& app, GlobalOptions& globals, StopSignal& stop, int& exit_code);

}  // namespace dimstream
