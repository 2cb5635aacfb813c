#pragma once

#include <string>

#include "cli/app_context.h"
#include "common/stop.h"
#include "generator/generator.h"

namespace dimstream {

struct RunOptions {
  bool until_idle = false;
  bool generate = false;
  bool quiet = false;
  std::string entity;   // what --generate writes (empty: the only entity)
  std::string publish;  // --publish DIR: publish.dir
  GenerateOptions gen;
};

// `dimstream run`: the mover, the loader (routing each object to its entity) and one merge task per entity in
// one process, until stopped (or, with until_idle, until everything present is merged).
void Run(const GlobalOptions& g, RunOptions o, const StopSignal& stop);

// Writes generated files for `entity` into landing: the customer generator for the built-in entity, the
// generator of declared entities for any other.
Result<GenerateStats> GenerateFor(const Config& config, const std::string& entity,
                                  const GenerateOptions& options, const StopSignal& stop);

}  // namespace dimstream
