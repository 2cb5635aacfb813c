#pragma once

#include <CLI/CLI.hpp>

#include "cli/app_context.h"

namespace dimstream {

// `init` (a commented configuration file and the data directory's folders) and `config` (every key with
// its default; --check FILE validates a file without touching anything).
void AddConfigCommands(CLI::App& app, GlobalOptions& globals, int& exit_code);

}  // namespace dimstream
