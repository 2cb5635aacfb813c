#include <CLI/CLI.hpp>

#include <iostream>
#include <stdexcept>

#include "cli/commands.h"
#include "cli/signals.h"
#include "common/secret.h"

int main(int argc, char** argv) {
  dimstream::StopSignal stop;
  dimstream::InstallStopSignals(stop);
  CLI::App app(
      "dimstream: keeps SCD Type 1 and Type 2 dimension tables up to date from a stream of change files",
      "dimstream");
  app.require_subcommand(1);
  app.fallthrough();
  dimstream::GlobalOptions globals;
  app.add_option("--data-dir", globals.data_dir,
                 "Directory holding landing/, bucket/ and warehouse.duckdb (default ./dimstream-data)");
  app.add_option("--config", globals.config_file, "TOML configuration file (see `dimstream config`)")
      ->check(CLI::ExistingFile);
  app.add_option("--log-level", globals.log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_option("--log-format", globals.log_format,
                 "Log lines as text (default) or json, one object a line for log shippers")
      ->check(CLI::IsMember({"text", "json"}));
  int exit_code = 0;
  dimstream::AddCommands(app, globals, stop, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "dimstream: " << dimstream::Redact(e.what()) << "\n";
    return 1;
  }
  return exit_code;
}
