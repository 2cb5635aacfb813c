#include "cli/commands.h"

#include <iostream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/command_support.h"
#include "cli/config_commands.h"
#include "cli/export_command.h"
#include "cli/http_endpoints.h"
#include "cli/output_format.h"
#include "cli/presence.h"
#include "cli/progress_line.h"
#include "cli/run_command.h"
#include "cli/status_report.h"
#include "common/clock.h"
#include "common/secret.h"
#include "merge/check.h"
#include "queue/no_publish_queue.h"
#include "scheduler/scheduler.h"
#include "warehouse/sql.h"

namespace dimstream {
namespace {

// ---- commands ----

void Generate(const GlobalOptions& g, const std::string& entity, const GenerateOptions& options,
              const StopSignal& stop) {
  Config config = ResolveConfig(g);
  GenerateStats stats = Must(GenerateFor(config, entity, options, stop), "cannot generate");
  fmt::print("generate: {} rows ({} malformed on purpose) in {} files in {}\n", stats.rows, stats.bad_rows,
             stats.files, config.Landing().string());
}

void Move(const GlobalOptions& g, bool until_idle, const StopSignal& stop) {
  Config config = ResolveConfig(g);
  auto store = MakeObjectStore(config);
  // With a broker, the loaders of other processes hear of each object from it (told by the mover, or by the
  // bucket itself); without one, by listing the bucket.
  std::unique_ptr<NotificationQueue> queue = MakeBrokerQueue(config);
  NoPublishQueue silent(queue.get());
  Mover mover(MoverOptionsFrom(config), *store,
              queue == nullptr || BucketNotifies(config, *store) ? silent : *queue);
  Status st;
  {
    std::optional<ProgressLine> progress;
    if (until_idle) {
      progress.emplace(
          [&mover] {
            return fmt::format("move: {} files moved, {} failed attempts", mover.stats().files_moved.load(),
                               mover.stats().failures.load());
          },
          g.log_level.empty());
    }
    st = mover.Run(stop, until_idle);
  }
  fmt::print("move: {} ({}) moved to {}, {}\n", Counted(mover.stats().files_moved, "file", "files"),
             Counted(mover.stats().bytes_moved, "byte", "bytes"), store->Describe(),
             Counted(mover.stats().failures, "failed attempt", "failed attempts"));
  Must(st);
}

void Load(const GlobalOptions& g, bool until_idle, const StopSignal& stop) {
  Config config = ResolveConfig(g);
  auto store = MakeObjectStore(config);
  auto warehouse = MustOpenWarehouse(config, stop);
  QueryService service(config, *warehouse);
  // From a broker when there is one (and by listing the bucket as well); by listing alone otherwise.
  std::unique_ptr<NotificationQueue> queue = MakeBrokerQueue(config);
  Loader loader(LoaderOptionsFrom(config), config.entities, *store, queue.get(), *warehouse);
  const LoaderStats& s = loader.stats();
  HttpEndpoints http(config, *warehouse, MetricSources{"load", nullptr, &s, {}}, nullptr);
  Presence presence(config, *warehouse, "load", {}, [&s] {
    return fmt::format("objects loaded {}, failed {}, rows loaded {}, rejected {}", s.objects_loaded.load(),
                       s.objects_failed.load(), s.rows_loaded.load(), s.rows_rejected.load());
  });
  Status st;
  {
    std::optional<ProgressLine> progress;
    if (until_idle) {
      progress.emplace(
          [&s] {
            return fmt::format("load: {} objects loaded, {} failed, {} rows loaded, {} rejected",
                               s.objects_loaded.load(), s.objects_failed.load(), s.rows_loaded.load(),
                               s.rows_rejected.load());
          },
          g.log_level.empty());
    }
    st = loader.Run(stop, until_idle);
  }
  presence.Stop();
  fmt::print("load: {} loaded ({}, {} rejected), {} failed\n", Counted(s.objects_loaded, "object", "objects"),
             Counted(s.rows_loaded, "row", "rows"), s.rows_rejected.load(), s.objects_failed.load());
  Must(st);
}

void Merge(const GlobalOptions& g, const std::string& entity, bool watch, const StopSignal& stop) {
  Config config = ResolveConfig(g);
  std::vector<const EntitySpec*> entities = SelectEntities(config, entity);
  auto warehouse = MustOpenWarehouse(config, stop);
  std::vector<std::unique_ptr<MergeJob>> jobs;
  for (const EntitySpec* e : entities) {
    jobs.push_back(std::make_unique<MergeJob>(*e, *warehouse, MergeOptionsFrom(config, *e)));
  }
  if (!watch) {
    for (size_t i = 0; i < jobs.size(); ++i) {
      const MergeStats& stats = jobs[i]->stats();
      std::optional<TaskRecord> done;
      {
        ProgressLine progress(
            [&stats, name = entities[i]->name] {
              return fmt::format("merge {}: {} rows merged", name, stats.rows_merged.load());
            },
            g.log_level.empty());
        done = Must(jobs[i]->RunOnce(), "merge of " + entities[i]->name);
      }
      PrintMergeSummary(entities[i]->name, *done);
    }
    return;
  }
  // The merge task on its own, as a separate process: every merge.interval_ms until stopped, for loads that
  // other processes commit. Of several such processes on one warehouse server, the one holding an entity's
  // lease merges it; the others stand by.
  QueryService service(config, *warehouse);
  std::vector<const MergeJob*> watched;
  MetricSources sources{"merge", nullptr, nullptr, {}};
  for (size_t i = 0; i < jobs.size(); ++i) {
    watched.push_back(jobs[i].get());
    sources.merges.emplace_back(entities[i]->name, &jobs[i]->stats());
  }
  HttpEndpoints http(config, *warehouse, sources, nullptr);
  Presence presence(config, *warehouse, "merge", entities, [&watched] { return MergeDetail(watched); });
  std::vector<std::unique_ptr<Scheduler>> tasks;
  std::vector<std::thread> threads;
  for (auto& job : jobs) {
    MergeJob* j = job.get();
    const EntitySpec* e = entities[tasks.size()];
    tasks.push_back(std::make_unique<Scheduler>(
        e->merge_job(), std::chrono::milliseconds(config.merge_interval_ms), [j, e, &presence]() -> Status {
          if (!presence.MayMerge(*e)) {
            return Ok();
          }
          auto r = j->RunOnce();
          return r.ok() ? Ok() : Status(r.error());
        }));
  }
  for (auto& t : tasks) {
    threads.emplace_back([&stop, task = t.get()] { task->Run(stop); });
  }
  spdlog::info("merge task running for {} every {} ms; Ctrl-C stops",
               Counted(jobs.size(), "entity", "entities"), config.merge_interval_ms);
  for (auto& t : threads) {
    t.join();
  }
  presence.Stop();
  uint64_t rows = 0;
  for (auto& job : jobs) {
    job->SaveIndex();  // the next start reads it instead of the warehouse
    rows += job->stats().rows_merged;
  }
  fmt::print("merge: {} merged\n", Counted(rows, "row", "rows"));
}

void Rebuild(const GlobalOptions& g, const std::string& entity, const StopSignal& stop) {
  Config config = ResolveConfig(g);
  auto warehouse = MustOpenWarehouse(config, stop);
  for (const EntitySpec* e : SelectEntities(config, entity)) {
    MergeJob job(*e, *warehouse, MergeOptionsFrom(config, *e));
    std::optional<TaskRecord> rebuilt;
    {
      ProgressLine progress([name = e->name] { return "rebuild " + name + ": refolding every key"; },
                            g.log_level.empty());
      rebuilt = Must(job.Rebuild(), "rebuild of " + e->name);
    }
    const TaskRecord& t = *rebuilt;
    fmt::print(
        "rebuild {}: {} keys recomputed from the retained log; compared with the tables before: {} versions "
        "opened, {} closed, {} SCD1 updates{}\n",
        e->name, t.keys, t.versions_opened, t.versions_closed, t.scd1_updates,
        t.versions_opened + t.versions_closed + t.scd1_updates == 0 ? " (identical)" : "");
  }
}

void Sql(const GlobalOptions& g, const std::string& query, const std::string& format) {
  OutputFormat f = Must(ParseOutputFormat(format));
  Config config = ResolveConfig(g);
  QueryResult r = Must(QueryAnywhere(config, query));
  std::cout << FormatResult(r, f);
}

void Status_(const GlobalOptions& g, const std::string& entity, bool files, const std::string& format) {
  OutputFormat f = Must(ParseOutputFormat(format));
  Config config = ResolveConfig(g);
  SelectEntities(config, entity);  // refuses an unknown entity, naming the declared ones
  auto store = MakeObjectStore(config);
  auto broker = MakeBrokerQueue(config);
  StatusReport r = Must(ReadStatus(
      config, entity, files, [&config](const std::string& sql) { return QueryAnywhere(config, sql); }, *store,
      broker.get()));
  if (f == OutputFormat::kJson) {
    std::cout << StatusJson(r).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
    return;
  }
  fmt::print("landing   {}: {} files waiting\n", r.landing, r.landing_files);
  fmt::print("bucket    {}: {}\n", r.bucket,
             r.bucket_objects ? fmt::format("{} objects", *r.bucket_objects) : r.bucket_error);
  if (!r.queue.empty()) {
    fmt::print("queue     {}: {}\n", r.queue,
               r.queue_waiting ? fmt::format("{} waiting, {} dead-lettered", *r.queue_waiting, *r.queue_dead)
                               : r.queue_error);
  }
  fmt::print("warehouse {}\n\n", r.warehouse);
  for (const auto& [title, result] : r.tables) {
    fmt::print("{}\n{}\n", title, FormatResult(result, f));
  }
}

void Check(const GlobalOptions& g, const std::string& entity, int& exit_code) {
  Config config = ResolveConfig(g);
  // Through QueryAnywhere, so that the check also works while `run` holds the file.
  auto query = [&](const std::string& sql) { return QueryAnywhere(config, sql); };
  for (const EntitySpec* e : SelectEntities(config, entity)) {
    auto failures = Must(CheckInvariants(query, *e));
    if (failures.empty()) {
      fmt::print("check {}: all invariants hold\n", e->name);
      continue;
    }
    for (const auto& f : failures) {
      fmt::print(stderr, "check {} failed: {}\n", e->name, f);
    }
    exit_code = 1;
  }
}

}  // namespace

void AddCommands(CLI::App& app, GlobalOptions& globals, StopSignal& stop, int& exit_code) {
  auto guard = [&exit_code](auto fn) {
    return [fn, &exit_code] {
      try {
        fn();
      } catch (const Fail& f) {
        fmt::print(stderr, "dimstream: {}\n", Redact(f.what()));
        exit_code = 1;
      }
    };
  };

  // --entity NAME: the entity a command is about (where it matters); each command says what it does without.
  auto entity_option = [](CLI::App* cmd, std::string& target, const char* without) {
    cmd->add_option("--entity", target,
                    std::string("Entity name (see the configuration); without it: ") + without);
  };

  auto* gen = app.add_subcommand(
      "generate", "Write generated files into landing (the Faker role): customers, or any declared entity");
  auto gen_options = std::make_shared<GenerateOptions>();
  auto gen_entity = std::make_shared<std::string>();
  entity_option(gen, *gen_entity, "the only declared entity");
  AddGenerateFlags(*gen, *gen_options);
  gen->callback(guard([&, gen_options, gen_entity] { Generate(globals, *gen_entity, *gen_options, stop); }));

  auto* move = app.add_subcommand("move", "Move finished files from landing into the bucket (the NiFi role)");
  auto move_idle = std::make_shared<bool>(false);
  move->add_flag("--until-idle", *move_idle, "Move what is in landing now, then exit");
  move->callback(guard([&, move_idle] { Move(globals, *move_idle, stop); }));

  auto* load = app.add_subcommand(
      "load", "Load bucket objects into the raw tables of their entities, each exactly once (Snowpipe)");
  auto load_idle = std::make_shared<bool>(false);
  load->add_flag("--until-idle", *load_idle, "Load what is in the bucket now, then exit");
  load->callback(guard([&, load_idle] { Load(globals, *load_idle, stop); }));

  auto* merge = app.add_subcommand(
      "merge", "Run the merge procedure once: raw above the watermark -> stage -> SCD1/SCD2 dimension");
  auto merge_entity = std::make_shared<std::string>();
  auto merge_watch = std::make_shared<bool>(false);
  entity_option(merge, *merge_entity, "every entity, one after the other");
  merge->add_flag(
      "--watch", *merge_watch,
      "Run the merge task until stopped: every merge.interval_ms, for loads other processes commit; on "
      "PostgreSQL while this process holds the entity's merge lease, standing by to take over otherwise");
  merge->callback(
      guard([&, merge_entity, merge_watch] { Merge(globals, *merge_entity, *merge_watch, stop); }));

  auto* rebuild = app.add_subcommand(
      "rebuild", "Recompute the whole dimension from the retained records (after merging what is pending)");
  auto rebuild_entity = std::make_shared<std::string>();
  entity_option(rebuild, *rebuild_entity, "every entity");
  rebuild->callback(guard([&, rebuild_entity] { Rebuild(globals, *rebuild_entity, stop); }));

  auto* run = app.add_subcommand("run", "Run every role in one process until stopped (Ctrl-C)");
  auto run_options = std::make_shared<RunOptions>();
  run->add_flag("--until-idle", run_options->until_idle,
                "Move, load and merge everything already present, then exit 0");
  run->add_flag("--quiet", run_options->quiet, "No live status line");
  run->add_flag("--generate", run_options->generate,
                "Also run the generator (takes the generate flags below)");
  entity_option(run, run_options->entity, "what --generate writes is for the only declared entity");
  AddGenerateFlags(*run, run_options->gen);
  run->add_option("--publish", run_options->publish,
                  "Publish the dimension as Parquet files in this directory after merge runs, at most every "
                  "publish.interval_ms (DIR/current/<entity>_current.parquet, ..._history.parquet, "
                  "manifest.json)");
  run->callback(guard([&, run_options] { Run(globals, *run_options, stop); }));

  auto* exp = app.add_subcommand(
      "export", "Write an entity's current or history table to a Parquet or CSV file any tool reads");
  auto export_options = std::make_shared<ExportOptions>();
  entity_option(exp, export_options->entity, "the only declared entity");
  exp->add_option("--table", export_options->table, "current or history (default current)")
      ->check(CLI::IsMember({"current", "history"}));
  exp->add_option("--as-of", export_options->as_of,
                  "The table as it was at this value of the sequence (its first column), e.g. "
                  "\"2024-06-01 00:00:00\"");
  exp->add_option("--format", export_options->format,
                  "parquet or csv (default: from --out's extension, else parquet)")
      ->check(CLI::IsMember({"parquet", "csv"}));
  exp->add_option("--out", export_options->out, "The file to write (replaced once complete)")->required();
  exp->callback(guard([&, export_options] { Export(globals, *export_options); }));

  auto* sql =
      app.add_subcommand("sql", "Print a query's result (works while another dimstream process runs)");
  auto query = std::make_shared<std::string>();
  auto sql_format = std::make_shared<std::string>("table");
  sql->add_option("query", *query, "The SQL query (every entity's tables are there: <entity>_current, ...)")
      ->required();
  sql->add_option("--format", *sql_format, "Output format")->check(CLI::IsMember({"table", "csv", "json"}));
  sql->callback(guard([&, query, sql_format] { Sql(globals, *query, *sql_format); }));

  auto* status = app.add_subcommand(
      "status", "Print what is where: landing, bucket, loads, raw, dimension, runs, processes");
  auto status_files = std::make_shared<bool>(false);
  auto status_format = std::make_shared<std::string>("table");
  auto status_entity = std::make_shared<std::string>();
  status->add_flag("--files", *status_files, "Also list every file with its loaded and rejected row counts");
  status->add_option("--format", *status_format, "Output format of the tables")
      ->check(CLI::IsMember({"table", "csv", "json"}));
  entity_option(status, *status_entity, "every entity");
  status->callback(guard([&, status_files, status_format, status_entity] {
    Status_(globals, *status_entity, *status_files, *status_format);
  }));

  auto* check =
      app.add_subcommand("check", "Verify the dimension's invariants; exit 1 naming the keys if one fails");
  auto check_entity = std::make_shared<std::string>();
  entity_option(check, *check_entity, "every entity");
  check->callback(guard([&, check_entity] { Check(globals, *check_entity, exit_code); }));

  AddConfigCommands(app, globals, exit_code);
}

}  // namespace dimstream
