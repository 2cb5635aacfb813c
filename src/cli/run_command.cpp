#include "cli/run_command.h"

#include <unistd.h>

#include <atomic>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/command_support.h"
#include "cli/export_command.h"
#include "cli/http_endpoints.h"
#include "cli/output_format.h"
#include "cli/presence.h"
#include "config/server_urls.h"
#include "generator/entity_generator.h"
#include "queue/no_publish_queue.h"
#include "scheduler/scheduler.h"

namespace dimstream {
namespace {

std::string Micro(Micros us) {
  if (us < 0) {
    return "-";
  }
  return us < 10000 ? fmt::format("{} us", us) : fmt::format("{} ms", us / 1000);
}

// One entity's merge job and the task that runs it, while this process holds the entity's merge lease
// (`presence`, once set; on PostgreSQL another `run` or `merge --watch` may hold it).
struct MergeTask {
  MergeTask(const Config& config, const EntitySpec& e, Warehouse& warehouse)
      : entity(e),
        job(entity, warehouse, MergeOptionsFrom(config, entity)),
        task(entity.merge_job(), std::chrono::milliseconds(config.merge_interval_ms), [this]() -> Status {
          if (presence != nullptr && !presence->MayMerge(entity)) {
            return Ok();
          }
          auto r = job.RunOnce();
          return r.ok() ? Ok() : Status(r.error());
        }) {
    job.SetWorkWaiting([this] { return task.Pending(); });
  }
  const EntitySpec& entity;
  MergeJob job;
  Scheduler task;
  const Presence* presence = nullptr;
};

}  // namespace

Result<GenerateStats> GenerateFor(const Config& config, const std::string& entity,
                                  const GenerateOptions& options, const StopSignal& stop) {
  const EntitySpec* e = nullptr;
  if (entity.empty()) {
    if (config.entities.size() > 1) {
      return Error::Invalid("several entities are declared: say which one to generate with --entity NAME");
    }
    e = &config.entities.front();
  } else {
    auto found = config.Entity(entity);
    if (!found.ok()) {
      return found.error();
    }
    e = *found;
  }
  EntitySpec builtin = Config::DefaultEntity();
  builtin.file_pattern = e->file_pattern;
  if (*e == builtin) {
    return Generate(options, config.Landing(), stop, {});
  }
  return GenerateEntity(options, *e, config.Landing(), stop, {});
}

void Run(const GlobalOptions& g, RunOptions o, const StopSignal& stop) {
  Config config = ResolveConfig(g);
  if (!o.publish.empty()) {
    config.publish_dir = o.publish;
  }
  auto store = MakeObjectStore(config);
  auto queue = MakeQueue(config);
  auto warehouse = MustOpenWarehouse(config, stop);
  QueryService service(config, *warehouse);
  MoverOptions mover_options = MoverOptionsFrom(config);
  // The load ledger: the mover does not replace an object whose content was never loaded.
  mover_options.loaded = [&warehouse](const ObjectRef& object) {
    return warehouse->HasLoad(object.key, object.checksum);
  };
  NoPublishQueue bucket_notifies(queue.get());
  Mover mover(std::move(mover_options), *store, BucketNotifies(config, *store) ? bucket_notifies : *queue);
  std::map<std::string, std::unique_ptr<MergeTask>> merges;
  for (const EntitySpec& e : config.entities) {
    merges[e.name] = std::make_unique<MergeTask>(config, e, *warehouse);
  }
  Loader loader(LoaderOptionsFrom(config), config.entities, *store, queue.get(), *warehouse,
                [&](const std::string& entity) {
                  auto it = merges.find(entity);
                  if (it != merges.end()) {
                    it->second->task.Trigger();
                  }
                });
  auto merged_rows = [&] {
    uint64_t n = 0;
    for (const auto& [name, m] : merges) {
      n += m->job.stats().rows_merged;
    }
    return n;
  };

  if (o.until_idle) {
    if (o.generate) {
      o.gen.progress = o.gen.progress && !o.quiet;
      Must(GenerateFor(config, o.entity, o.gen, stop), "cannot generate");
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
    for (auto& [name, m] : merges) {
      TaskRecord last;
      do {
        last = Must(m->job.RunOnce(), "merge of " + name);
      } while (last.rows_in > 0 && !stop.Requested());
    }
    if (!config.publish_dir.empty()) {
      Publisher publisher(config, *warehouse, config.publish_dir, std::chrono::milliseconds(0),
                          [] { return 0; });
      Must(publisher.PublishNow(), "cannot publish to " + config.publish_dir);
    }
    const LoaderStats& s = loader.stats();
    fmt::print("run: {} moved, {} loaded ({}, {} rejected, {} failed), {} merged\n",
               Counted(mover.stats().files_moved, "file", "files"),
               Counted(s.objects_loaded, "object", "objects"), Counted(s.rows_loaded, "row", "rows"),
               s.rows_rejected.load(), s.objects_failed.load(), Counted(merged_rows(), "row", "rows"));
    Must(moved, "some files stay in landing");
    return;
  }

  std::vector<const EntitySpec*> merged;
  std::vector<const MergeJob*> jobs;
  for (auto& [name, m] : merges) {
    merged.push_back(&m->entity);
    jobs.push_back(&m->job);
  }
  const LoaderStats& loads = loader.stats();
  MetricSources sources{"run", &mover.stats(), &loads, {}};
  for (auto& [name, m] : merges) {
    sources.merges.emplace_back(name, &m->job.stats());
  }
  const bool in_process_queue = ParseQueueUrl(config).value().kind == QueueUrl::Kind::kMemory;
  HttpEndpoints http(config, *warehouse, sources, in_process_queue ? queue.get() : nullptr);
  Presence presence(config, *warehouse, "run", merged, [&] {
    return fmt::format("moved {}, rows loaded {}, {}", mover.stats().files_moved.load(),
                       loads.rows_loaded.load(), MergeDetail(jobs));
  });
  for (auto& [name, m] : merges) {
    m->presence = &presence;
  }
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    Status st = mover.Run(stop, false);
    if (!st.ok()) {
      spdlog::error("mover stopped: {}", st.error().message);
    }
  });
  threads.emplace_back([&] { (void)loader.Run(stop, false); });
  for (auto& [name, m] : merges) {
    threads.emplace_back([&stop, task = &m->task] { task->Run(stop); });
  }
  std::unique_ptr<Publisher> publisher;
  if (!config.publish_dir.empty()) {
    publisher = std::make_unique<Publisher>(config, *warehouse, config.publish_dir,
                                            std::chrono::milliseconds(config.publish_interval_ms), [&merges] {
                                              uint64_t runs = 0;
                                              for (const auto& [name, m] : merges) {
                                                runs += m->job.stats().runs;
                                              }
                                              return runs;
                                            });
    threads.emplace_back([&stop, p = publisher.get()] { p->Run(stop); });
  }
  if (o.generate) {
    threads.emplace_back([&] {
      GenerateOptions gen = o.gen;
      gen.progress = false;  // the status line is the progress
      auto r = GenerateFor(config, o.entity, gen, stop);
      if (!r.ok()) {
        spdlog::error("generator stopped: {}", r.error().message);
      }
    });
  }
  bool tty = ::isatty(2) != 0 && !o.quiet;
  spdlog::info("dimstream running: landing {}, bucket {}, queue {}, warehouse {}, {}; Ctrl-C stops",
               config.Landing().string(), store->Describe(), queue->Describe(), warehouse->Describe(),
               Counted(config.entities.size(), "entity", "entities"));
  if (tty && g.log_level.empty()) {
    // One log line per file would scroll the status line away; --log-level info brings them back.
    spdlog::set_level(spdlog::level::warn);
  }
  auto last_log = std::chrono::steady_clock::now();
  while (!stop.WaitFor(std::chrono::milliseconds(500))) {
    const LoaderStats& s = loader.stats();
    uint64_t runs = 0;
    int64_t freshness = -1;
    for (const auto& [name, m] : merges) {
      runs += m->job.stats().runs;
      freshness = std::max(freshness, m->job.stats().last_freshness_us.load());
    }
    std::string line = fmt::format(
        "moved {} files | loaded {} rows | rejected {} | merged {} rows | merge runs {} | freshness {}",
        mover.stats().files_moved.load(), s.rows_loaded.load(), s.rows_rejected.load(), merged_rows(), runs,
        Micro(freshness));
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
  presence.Stop();
  for (auto& [name, m] : merges) {
    m->job.SaveIndex();  // the next start reads it instead of the warehouse
  }
  spdlog::info("stopped cleanly");
}

}  // namespace dimstream
