#include "cli/commands.h"

#include <unistd.h>

#include <atomic>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/output_format.h"
#include "cli/query_server.h"
#include "common/clock.h"
#include "common/secret.h"
#include "generator/generator.h"
#include "loader/loader.h"
#include "merge/check.h"
#include "merge/merge.h"
#include "mover/mover.h"
#include "scheduler/scheduler.h"
#include "warehouse/sql.h"

namespace dimstream {
namespace {

// Notifications that nobody in this process consumes: a standalone `move` has no loader beside it, and
// the loader of another process finds the objects by listing the bucket.
class DroppingQueue : public NotificationQueue {
 public:
  Status Publish(const ObjectRef&) override { return Ok(); }
  Result<std::optional<Delivery>> Receive(std::chrono::milliseconds) override {
    return std::optional<Delivery>();
  }
  Status Ack(const Delivery&) override { return Ok(); }
  Status Nack(const Delivery&) override { return Ok(); }
  Result<uint64_t> Backlog() override { return uint64_t{0}; }
  std::string Describe() const override { return "none (the loader lists the bucket)"; }
};

struct Fail : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <typename T>
T Must(Result<T> r, const std::string& what = "") {
  if (!r.ok()) {
    throw Fail(what.empty() ? r.error().message : what + ": " + r.error().message);
  }
  return std::move(r).value();
}

void Must(const Status& s, const std::string& what = "") {
  if (!s.ok()) {
    throw Fail(what.empty() ? s.error().message : what + ": " + s.error().message);
  }
}

MoverOptions MoverOptionsFrom(const Config& c) {
  MoverOptions o;
  o.landing = c.Landing();
  o.poll_interval = std::chrono::milliseconds(c.mover_poll_interval_ms);
  o.min_file_age = std::chrono::milliseconds(c.mover_min_file_age_ms);
  o.max_backlog_objects = c.mover_max_backlog_objects;
  o.retry_initial = std::chrono::milliseconds(c.mover_retry_initial_ms);
  o.retry_max = std::chrono::milliseconds(c.mover_retry_max_ms);
  return o;
}

MergeOptions MergeOptionsFrom(const Config& c) {
  MergeOptions o;
  o.log_retention_us = static_cast<int64_t>(c.merge_log_retention_days) * 86400 * 1000000;
  // Beside the warehouse file: <warehouse>.<entity>.keys
  o.index_snapshot = c.Warehouse();
  o.index_snapshot += "." + c.entity.name + ".keys";
  return o;
}

LoaderOptions LoaderOptionsFrom(const Config& c) {
  LoaderOptions o;
  o.on_error = Must(ParseOnError(c.loader_on_error));
  o.list_interval = std::chrono::milliseconds(c.loader_list_interval_ms);
  o.max_reject_bytes = c.loader_max_reject_bytes;
  return o;
}

// Opens the warehouse, waiting up to warehouse.open_timeout_ms while another process holds the file: a
// `sql` or `status` that opened it a moment earlier must not make `run` fail to start.
std::unique_ptr<Warehouse> MustOpenWarehouse(const Config& config, const StopSignal& stop) {
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(config.warehouse_open_timeout_ms);
  auto w = OpenWarehouse(config);
  bool told = false;
  while (!w.ok() && w.error().kind == ErrorKind::kRetryable && std::chrono::steady_clock::now() < deadline) {
    if (!told) {
      spdlog::warn("{}; trying again for up to {} ms (warehouse.open_timeout_ms)", w.error().message,
                   config.warehouse_open_timeout_ms);
      told = true;
    }
    if (stop.WaitFor(std::chrono::milliseconds(200))) {
      break;
    }
    w = OpenWarehouse(config);
  }
  if (!w.ok() && HeldByAnotherProcess(w.error())) {
    throw Fail(w.error().message +
               "\nAnother process holds the warehouse (the PID above). If it is a dimstream process, stop it "
               "first, or query it with `dimstream sql` and `dimstream status`, which work while it runs. "
               "Nothing was changed.");
  }
  return Must(std::move(w));
}

// Serves `sql` and `status` from other processes for as long as the command that holds the warehouse
// runs: it stops when it goes out of scope, not on Ctrl-C, so queries work until the very end.
class QueryService {
 public:
  QueryService(const Config& config, Warehouse& warehouse) {
    auto server = QueryServer::Start(QuerySocketFor(config.Warehouse()), warehouse);
    if (!server.ok()) {
      spdlog::warn("queries from other processes are not served: {}", server.error().message);
      return;
    }
    server_ = std::move(*server);
    thread_ = std::thread([this] { server_->Run(done_); });
  }
  ~QueryService() {
    done_.Request();
    if (thread_.joinable()) {
      thread_.join();
    }
  }

 private:
  std::unique_ptr<QueryServer> server_;
  StopSignal done_;
  std::thread thread_;
};

std::string Micro(Micros us) {
  if (us < 0) {
    return "-";
  }
  return us < 10000 ? fmt::format("{} us", us) : fmt::format("{} ms", us / 1000);
}

void PrintMergeSummary(const TaskRecord& t) {
  if (t.rows_in == 0) {
    fmt::print("merge: nothing to merge (watermark {})\n", t.watermark_from);
    return;
  }
  fmt::print(
      "merge: {} rows in ({} after de-duplication, {} keys): {} versions opened, {} closed, {} SCD1 updates; "
      "watermark {} -> {}\n",
      t.rows_in, t.rows_staged, t.keys, t.versions_opened, t.versions_closed, t.scd1_updates,
      t.watermark_from, t.watermark_to);
}

// ---- commands ----

void Generate(const GlobalOptions& g, const GenerateOptions& options, const StopSignal& stop) {
  Config config = ResolveConfig(g);
  GenerateStats stats = Must(Generate(options, config.Landing(), stop, {}), "cannot generate");
  fmt::print("generate: {} rows ({} malformed on purpose) in {} files in {}\n", stats.rows, stats.bad_rows,
             stats.files, config.Landing().string());
}

void Move(const GlobalOptions& g, bool until_idle, const StopSignal& stop) {
  Config config = ResolveConfig(g);
  auto store = MakeObjectStore(config);
  DroppingQueue queue;
  Mover mover(MoverOptionsFrom(config), *store, queue);
  Status st = mover.Run(stop, until_idle);
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
  Loader loader(LoaderOptionsFrom(config), config.entity, *store, nullptr, *warehouse);
  Status st = loader.Run(stop, until_idle);
  const LoaderStats& s = loader.stats();
  fmt::print("load: {} loaded ({}, {} rejected), {} failed\n", Counted(s.objects_loaded, "object", "objects"),
             Counted(s.rows_loaded, "row", "rows"), s.rows_rejected.load(), s.objects_failed.load());
  Must(st);
}

void Merge(const GlobalOptions& g, const StopSignal& stop) {
  Config config = ResolveConfig(g);
  auto warehouse = MustOpenWarehouse(config, stop);
  MergeJob job(config.entity, *warehouse, MergeOptionsFrom(config));
  PrintMergeSummary(Must(job.RunOnce()));
}

void Rebuild(const GlobalOptions& g, const StopSignal& stop) {
  Config config = ResolveConfig(g);
  auto warehouse = MustOpenWarehouse(config, stop);
  MergeJob job(config.entity, *warehouse, MergeOptionsFrom(config));
  TaskRecord t = Must(job.Rebuild());
  fmt::print(
      "rebuild: {} keys recomputed from the retained log; compared with the tables before: {} versions "
      "opened, {} closed, {} SCD1 updates{}\n",
      t.keys, t.versions_opened, t.versions_closed, t.scd1_updates,
      t.versions_opened + t.versions_closed + t.scd1_updates == 0 ? " (identical)" : "");
}

struct RunOptions {
  bool until_idle = false;
  bool generate = false;
  bool quiet = false;
  GenerateOptions gen;
};

void Run(const GlobalOptions& g, RunOptions o, const StopSignal& stop) {
  Config config = ResolveConfig(g);
  auto store = MakeObjectStore(config);
  auto queue = MakeQueue(config);
  auto warehouse = MustOpenWarehouse(config, stop);
  QueryService service(config, *warehouse);
  MoverOptions mover_options = MoverOptionsFrom(config);
  // The load ledger: the mover does not replace an object whose content was never loaded.
  mover_options.loaded = [&warehouse](const ObjectRef& object) {
    return warehouse->HasLoad(object.key, object.checksum);
  };
  Mover mover(std::move(mover_options), *store, *queue);
  MergeJob merge(config.entity, *warehouse, MergeOptionsFrom(config));
  Scheduler task(config.entity.merge_job(), std::chrono::milliseconds(config.merge_interval_ms),
                 [&]() -> Status {
                   auto r = merge.RunOnce();
                   if (!r.ok()) {
                     return r.error();
                   }
                   return Ok();
                 });
  Loader loader(LoaderOptionsFrom(config), config.entity, *store, queue.get(), *warehouse,
                [&] { task.Trigger(); });

  if (o.until_idle) {
    if (o.generate) {
      o.gen.progress = o.gen.progress && !o.quiet;
      Must(Generate(o.gen, config.Landing(), stop, {}), "cannot generate");
    }
    // Mover and loader run together: with more files in landing than the back-pressure limit, the mover
    // waits for the loader to drain the queue.
    // The mover stops with the run, and also when the loader gives up: it may be waiting for loads
    // (back-pressure, an object to be loaded before it is replaced) that will not come.
    StopSignal mover_stop;
    std::atomic<bool> mover_done{false};
    Status moved;
    std::thread mover_thread([&] {
      moved = mover.Run(mover_stop, true);
      mover_done = true;
    });
    Status loaded;
    while (loaded.ok() && !stop.Requested()) {
      bool last = mover_done;
      loaded = loader.Run(stop, true);
      if (last) {
        break;
      }
      stop.WaitFor(std::chrono::milliseconds(20));
    }
    if (!mover_done) {
      mover_stop.Request();
    }
    mover_thread.join();
    Must(loaded);
    TaskRecord last;
    do {
      last = Must(merge.RunOnce());
    } while (last.rows_in > 0 && !stop.Requested());
    const LoaderStats& s = loader.stats();
    fmt::print("run: {} moved, {} loaded ({}, {} rejected, {} failed), {} merged\n",
               Counted(mover.stats().files_moved, "file", "files"),
               Counted(s.objects_loaded, "object", "objects"), Counted(s.rows_loaded, "row", "rows"),
               s.rows_rejected.load(), s.objects_failed.load(),
               Counted(merge.stats().rows_merged, "row", "rows"));
    Must(moved, "some files stay in landing");
    return;
  }

  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    Status st = mover.Run(stop, false);
    if (!st.ok()) {
      spdlog::error("mover stopped: {}", st.error().message);
    }
  });
  threads.emplace_back([&] { (void)loader.Run(stop, false); });
  threads.emplace_back([&] { task.Run(stop); });
  if (o.generate) {
    threads.emplace_back([&] {
      GenerateOptions gen = o.gen;
      gen.progress = false;  // the status line is the progress
      auto r = Generate(gen, config.Landing(), stop, {});
      if (!r.ok()) {
        spdlog::error("generator stopped: {}", r.error().message);
      }
    });
  }
  bool tty = ::isatty(2) != 0 && !o.quiet;
  spdlog::info("dimstream running: landing {}, bucket {}, warehouse {}; Ctrl-C stops",
               config.Landing().string(), store->Describe(), warehouse->Describe());
  if (tty && g.log_level.empty()) {
    // One log line per file would scroll the status line away; --log-level info brings them back.
    spdlog::set_level(spdlog::level::warn);
  }
  auto last_log = std::chrono::steady_clock::now();
  while (!stop.WaitFor(std::chrono::milliseconds(500))) {
    const LoaderStats& s = loader.stats();
    std::string line = fmt::format(
        "moved {} files | loaded {} rows | rejected {} | merged {} rows | merge runs {} | freshness {}",
        mover.stats().files_moved.load(), s.rows_loaded.load(), s.rows_rejected.load(),
        merge.stats().rows_merged.load(), merge.stats().runs.load(),
        Micro(merge.stats().last_freshness_us.load()));
    if (tty) {
      fmt::print(stderr, "\r\033[K{}", line);
    } else if (std::chrono::steady_clock::now() - last_log > std::chrono::seconds(10)) {
      spdlog::info("{}", line);
      last_log = std::chrono::steady_clock::now();
    }
  }
  if (tty) {
    fmt::print(stderr, "\n");
  }
  for (auto& t : threads) {
    t.join();
  }
  spdlog::info("stopped cleanly");
}

void Sql(const GlobalOptions& g, const std::string& query, const std::string& format) {
  OutputFormat f = Must(ParseOutputFormat(format));
  Config config = ResolveConfig(g);
  QueryResult r = Must(QueryAnywhere(config, query));
  std::cout << FormatResult(r, f);
}

void Status_(const GlobalOptions& g, bool files, const std::string& format) {
  OutputFormat f = Must(ParseOutputFormat(format));
  Config config = ResolveConfig(g);
  const EntitySpec& e = config.entity;
  uint64_t landing_files = 0;
  std::error_code ec;
  if (std::filesystem::exists(config.Landing(), ec)) {
    for (auto it = std::filesystem::recursive_directory_iterator(config.Landing(), ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) {
        break;
      }
      landing_files += it->is_regular_file(ec) && it->path().filename().string().front() != '.' ? 1 : 0;
    }
  }
  auto store = MakeObjectStore(config);
  auto listing = store->List();
  // Everything status prints (adapter descriptions, recorded errors) passes Redact(): no credential shows.
  auto print = [](const std::string& text) { std::cout << Redact(text); };
  print(fmt::format("landing   {}: {} files waiting\n", config.Landing().string(), landing_files));
  print(fmt::format("bucket    {}: {}\n", store->Describe(),
                    listing.ok() ? fmt::format("{} objects", listing->size()) : listing.error().message));
  print(fmt::format("warehouse {}\n\n", config.Warehouse().string()));
  auto show = [&](const std::string& title, const std::string& sql) {
    QueryResult r = Must(QueryAnywhere(config, sql));
    print(fmt::format("{}\n{}\n", title, FormatResult(r, f)));
  };
  show("pipeline",
       fmt::format(
           "SELECT (SELECT count(*) FROM load_history WHERE status = 'loaded') AS objects_loaded, (SELECT "
           "count(*) FROM load_history WHERE status = 'failed') AS objects_failed, (SELECT "
           "coalesce(sum(rows_loaded), 0) FROM load_history) AS rows_loaded, (SELECT "
           "coalesce(sum(rows_rejected), 0) FROM load_history) AS rows_rejected, (SELECT count(*) FROM {0}) "
           "AS raw_rows_waiting, (SELECT count(*) FROM {1}) AS current_keys, (SELECT count(*) FROM {2}) AS "
           "history_versions, (SELECT max(parameter_value) FROM parameter_control WHERE job_name = {3}) AS "
           "watermark",
           QuoteIdent(e.raw_table()), QuoteIdent(e.current_table()), QuoteIdent(e.history_table()),
           QuoteLiteral(e.merge_job())));
  show("last merge runs",
       fmt::format(
           "SELECT started_at, finished_at - started_at AS took, status, rows_in, versions_opened, "
           "versions_closed, scd1_updates, error FROM task_history WHERE task_name = {} ORDER BY started_at "
           "DESC LIMIT 5",
           QuoteLiteral(e.merge_job())));
  if (files) {
    show("files",
         "SELECT load_id, object_key, status, rows_loaded, rows_rejected, loaded_at, error FROM load_history "
         "ORDER BY load_id");
  }
}

void Check(const GlobalOptions& g, int& exit_code) {
  Config config = ResolveConfig(g);
  // Through QueryAnywhere, so that the check also works while `run` holds the file.
  auto query = [&](const std::string& sql) { return QueryAnywhere(config, sql); };
  auto failures = Must(CheckInvariants(query, config.entity));
  if (failures.empty()) {
    fmt::print("check: all invariants hold\n");
    return;
  }
  for (const auto& f : failures) {
    fmt::print(stderr, "check failed: {}\n", f);
  }
  exit_code = 1;
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

  auto* gen = app.add_subcommand("generate", "Write generated customer files into landing (the Faker role)");
  auto gen_options = std::make_shared<GenerateOptions>();
  AddGenerateFlags(*gen, *gen_options);
  gen->callback(guard([&, gen_options] { Generate(globals, *gen_options, stop); }));

  auto* move = app.add_subcommand("move", "Move finished files from landing into the bucket (the NiFi role)");
  auto move_idle = std::make_shared<bool>(false);
  move->add_flag("--until-idle", *move_idle, "Move what is in landing now, then exit");
  move->callback(guard([&, move_idle] { Move(globals, *move_idle, stop); }));

  auto* load =
      app.add_subcommand("load", "Load bucket objects into the raw table, each exactly once (Snowpipe)");
  auto load_idle = std::make_shared<bool>(false);
  load->add_flag("--until-idle", *load_idle, "Load what is in the bucket now, then exit");
  load->callback(guard([&, load_idle] { Load(globals, *load_idle, stop); }));

  auto* merge = app.add_subcommand(
      "merge", "Run the merge procedure once: raw above the watermark -> stage -> SCD1/SCD2 dimension");
  merge->callback(guard([&] { Merge(globals, stop); }));

  auto* rebuild = app.add_subcommand(
      "rebuild", "Recompute the whole dimension from the retained records (after merging what is pending)");
  rebuild->callback(guard([&] { Rebuild(globals, stop); }));

  auto* run = app.add_subcommand("run", "Run every role in one process until stopped (Ctrl-C)");
  auto run_options = std::make_shared<RunOptions>();
  run->add_flag("--until-idle", run_options->until_idle,
                "Move, load and merge everything already present, then exit 0");
  run->add_flag("--quiet", run_options->quiet, "No live status line");
  auto* generate_flag = run->add_flag("--generate", run_options->generate,
                                      "Also run the generator (takes the generate flags below)");
  (void)generate_flag;
  AddGenerateFlags(*run, run_options->gen);
  run->callback(guard([&, run_options] { Run(globals, *run_options, stop); }));

  auto* sql =
      app.add_subcommand("sql", "Print a query's result (works while another dimstream process runs)");
  auto query = std::make_shared<std::string>();
  auto sql_format = std::make_shared<std::string>("table");
  sql->add_option("query", *query, "The SQL query")->required();
  sql->add_option("--format", *sql_format, "Output format")->check(CLI::IsMember({"table", "csv", "json"}));
  sql->callback(guard([&, query, sql_format] { Sql(globals, *query, *sql_format); }));

  auto* status =
      app.add_subcommand("status", "Print what is where: landing, bucket, loads, raw, dimension, runs");
  auto status_files = std::make_shared<bool>(false);
  auto status_format = std::make_shared<std::string>("table");
  status->add_flag("--files", *status_files, "Also list every file with its loaded and rejected row counts");
  status->add_option("--format", *status_format, "Output format of the tables")
      ->check(CLI::IsMember({"table", "csv", "json"}));
  status->callback(
      guard([&, status_files, status_format] { Status_(globals, *status_files, *status_format); }));

  auto* check =
      app.add_subcommand("check", "Verify the dimension's invariants; exit 1 naming the keys if one fails");
  check->callback(guard([&] { Check(globals, exit_code); }));

  auto* config =
      app.add_subcommand("config", "Print every configuration key with its default and description");
  config->callback([] { std::cout << DefaultConfigToml(); });
}

}  // namespace dimstream
