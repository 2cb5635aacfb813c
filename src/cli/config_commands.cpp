#include "cli/config_commands.h"

#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "common/secret.h"
#include "config/config.h"
#include "config/server_urls.h"

namespace dimstream {
namespace {

void Init(const GlobalOptions& g, const std::string& file, const std::vector<std::string>& entities,
          bool force, int& exit_code) {
  std::error_code ec;
  for (const std::string& name : entities) {
    if (!IsValidName(name)) {
      fmt::print(stderr, "dimstream: init: '{}' is not an entity name ([a-z_][a-z0-9_]{{0,47}})\n", name);
      exit_code = 1;
      return;
    }
  }
  if (std::filesystem::exists(file, ec) && !force) {
    fmt::print(stderr, "dimstream: init: {} exists; --force replaces it\n", file);
    exit_code = 1;
    return;
  }
  const std::string text = StarterConfigToml(entities);
  // What it writes must read back: the same checks as every command's.
  if (auto parsed = ParseConfig(text, file); !parsed.ok()) {
    fmt::print(stderr, "dimstream: init: {}\n", parsed.error().message);
    exit_code = 1;
    return;
  }
  {
    std::ofstream out(file + ".tmp", std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) {
      fmt::print(stderr, "dimstream: init: cannot write {}\n", file);
      exit_code = 1;
      return;
    }
  }
  std::filesystem::rename(file + ".tmp", file, ec);
  if (ec) {
    fmt::print(stderr, "dimstream: init: cannot write {}: {}\n", file, ec.message());
    exit_code = 1;
    return;
  }
  Config config;
  if (!g.data_dir.empty()) {
    config.data_dir = g.data_dir;
  }
  for (const auto& dir : {config.Landing(), config.Bucket()}) {
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      fmt::print(stderr, "dimstream: init: cannot create {}: {}\n", dir.string(), ec.message());
      exit_code = 1;
      return;
    }
  }
  fmt::print(
      "init: wrote {} ({}) and made {} and {}\n"
      "next: edit it, check it with `dimstream config --check {}`, then `dimstream --config {} --data-dir {} "
      "run`\n",
      file, entities.empty() ? "the built-in customer entity" : fmt::format("{} entities", entities.size()),
      config.Landing().string(), config.Bucket().string(), file, file, config.data_dir.string());
}

// Validates `file` as every command would read it, and the credentials it names (read, never shown),
// without opening, creating or connecting to anything.
void Check(const std::string& file, int& exit_code) {
  auto loaded = LoadConfig(file);
  if (!loaded.ok()) {
    fmt::print(stderr, "dimstream: {}\n", loaded.error().message);
    exit_code = 1;
    return;
  }
  const Config& c = *loaded;
  for (const auto& [name, source] : c.secrets) {
    if (auto secret = ReadConfiguredSecret(c, name); !secret.ok()) {
      fmt::print(stderr, "dimstream: {}: {}\n", file, Redact(secret.error().message));
      exit_code = 1;
      return;
    }
  }
  std::string entities;
  for (const EntitySpec& e : c.entities) {
    entities += fmt::format("{}{} (files {})", entities.empty() ? "" : ", ", e.name, e.file_pattern);
  }
  auto listen = ParseHttpListen(c);
  fmt::print(
      "{}: valid\n"
      "  entities  {}\n"
      "  bucket    {}\n"
      "  queue     {}\n"
      "  warehouse {}\n"
      "  http      {}\n",
      file, entities, c.object_store_url.empty() ? "directory (bucket_dir)" : c.object_store_url, c.queue_url,
      c.warehouse_url.empty() ? "DuckDB file (warehouse_path)" : c.warehouse_url,
      listen.ok() && *listen ? c.http_listen : "off");
}

}  // namespace

void AddConfigCommands(CLI::App& app, GlobalOptions& globals, int& exit_code) {
  auto* init = app.add_subcommand(
      "init", "Write a commented configuration file and make the data directory's landing/ and bucket/");
  auto init_file = std::make_shared<std::string>("dimstream.toml");
  auto init_entities = std::make_shared<std::vector<std::string>>();
  auto init_force = std::make_shared<bool>(false);
  init->add_option("--file", *init_file, "Where to write the configuration (default ./dimstream.toml)");
  init->add_option("--entity", *init_entities,
                   "Declare an entity of this name to edit (repeat for several); without: the built-in "
                   "customer entity");
  init->add_flag("--force", *init_force, "Replace the file if it exists");
  init->callback([&globals, &exit_code, init_file, init_entities, init_force] {
    Init(globals, *init_file, *init_entities, *init_force, exit_code);
  });

  auto* config = app.add_subcommand(
      "config", "Print every configuration key with its default and description; --check FILE validates one");
  auto check_file = std::make_shared<std::string>();
  config->add_option("--check", *check_file,
                     "Validate this configuration file (keys, values, the credentials it names) and exit 1 "
                     "saying what is wrong; touches nothing");
  config->callback([&exit_code, check_file] {
    if (check_file->empty()) {
      std::cout << DefaultConfigToml();
    } else {
      Check(*check_file, exit_code);
    }
  });
}

}  // namespace dimstream
