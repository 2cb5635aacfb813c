#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <thread>

#include <fmt/format.h>

#include "bench/bench_common.h"
#include "bench/scaleout/child.h"
#include "bench/scaleout/phases.h"
#include "bench/scaleout/servers.h"
#include "cli/app_context.h"
#include "config/config.h"
#include "warehouse/sql.h"

namespace dimstream::scaleout {
namespace {

using bench::Clock;
using bench::Seconds;

// The objects a `dimstream load` says it loaded as it exits ("load: 12 objects loaded (...)").
uint64_t ObjectsLoaded(const fs::path& log) {
  std::ifstream in(log);
  std::string line;
  uint64_t n = 0;
  while (std::getline(in, line)) {
    if (line.starts_with("load: ")) {
      n = std::strtoull(line.c_str() + 6, nullptr, 10);
    }
  }
  return n;
}

Status WaitFor(const std::function<Result<bool>()>& done, std::chrono::seconds timeout,
               const std::string& what, std::vector<Child>& children) {
  const auto until = Clock::now() + timeout;
  for (;;) {
    auto d = done();
    if (!d.ok()) {
      return d.error();
    }
    if (*d) {
      return Ok();
    }
    for (auto& child : children) {
      if (!child.Running()) {
        return Error::Permanent(fmt::format("a dimstream process ended while waiting for {} (log {}):{}",
                                            what, child.log().string(), child.Tail()));
      }
    }
    if (Clock::now() > until) {
      return Error::Permanent("timed out waiting for " + what);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

Status RunLoadPhase(const Context& c, uint64_t loaders, LoadResult& r, std::vector<Check>& checks) {
  const std::string db = LoadDatabase(loaders);
  DIMSTREAM_TRY(RecreateDatabase(c.pg_url, db));
  const fs::path bucket = c.work / fmt::format("bucket-{}", loaders);
  fs::create_directories(bucket);
  // A queue of its own per phase; the bucket is listed once at start (empty then) and not again, so that
  // the notifications alone spread the objects over the loaders.
  const std::string extra =
      fmt::format("[queue]\nurl = {}\nqueue = {}\n[loader]\nlist_interval_ms = 3600000\n",
                  TomlString(c.amqp_url), TomlString(fmt::format("scaleout-load-{}", loaders)));
  auto config = c.WriteConfig(fmt::format("load-{}", loaders), db, bucket, extra);
  if (!config.ok()) {
    return config.error();
  }
  auto conn = Connect(WithDatabase(c.pg_url, db));
  if (!conn.ok()) {
    return conn.error();
  }
  std::vector<Child> children;
  for (uint64_t i = 1; i <= loaders; ++i) {
    const fs::path data = c.work / fmt::format("loader-{}-{}", loaders, i);
    fs::create_directories(data);
    auto child = Child::Start(c.Command(*config, data, {"load"}), data / "load.log");
    if (!child.ok()) {
      return child.error();
    }
    children.push_back(std::move(*child));
  }
  // Ready once the schema is there (the first process made it) and every process had a moment to connect
  // to the broker.
  DIMSTREAM_TRY(WaitFor(
      [&]() -> Result<bool> {
        auto n = QueryInt(**conn, "SELECT count(*) FROM pg_class WHERE relname = $1", {"load_history"});
        return n.ok() ? Result<bool>(*n > 0) : Result<bool>(n.error());
      },
      std::chrono::seconds(60), "the loaders' schema", children));
  std::this_thread::sleep_for(std::chrono::seconds(2));

  auto parsed = ParseConfig(extra, "the load phase's queue");
  if (!parsed.ok()) {
    return parsed.error();
  }
  auto queue = MakeBrokerQueue(*parsed);
  if (queue == nullptr) {
    return Error::Permanent("the load phase needs a RabbitMQ queue");
  }
  const auto start = Clock::now();
  for (const PlannedFile* f : c.loaded) {
    auto key = bench::PlaceInBucket(c.files_dir / f->name, bucket);
    if (!key.ok()) {
      return key.error();
    }
    ObjectRef ref;
    ref.key = *key;
    ref.size = fs::file_size(bucket / f->name);
    DIMSTREAM_TRY(queue->Publish(ref));
  }
  const int64_t want = static_cast<int64_t>(c.loaded.size());
  DIMSTREAM_TRY(WaitFor(
      [&]() -> Result<bool> {
        auto n = QueryInt(**conn, "SELECT count(*) FROM load_history WHERE load_id IS NOT NULL");
        return n.ok() ? Result<bool>(*n >= want) : Result<bool>(n.error());
      },
      std::chrono::seconds(1800), "the loads", children));
  r.seconds = Seconds(Clock::now() - start);
  r.loaders = loaders;
  for (auto& child : children) {
    auto code = child.Stop();
    if (!code.ok() || *code != 0) {
      return Error::Permanent(fmt::format("a `dimstream load` exited with {} (log {}):{}",
                                          code.ok() ? *code : -1, child.log().string(), child.Tail()));
    }
    r.objects_per_loader.push_back(ObjectsLoaded(child.log()));
  }

  auto loaded = QueryInt(**conn, "SELECT count(*) FROM load_history WHERE status = 'loaded'");
  auto distinct = QueryInt(**conn, "SELECT count(DISTINCT object_key) FROM load_history");
  auto all = QueryInt(**conn, "SELECT count(*) FROM load_history");
  auto rows = QueryInt(**conn, "SELECT sum(rows_loaded) FROM load_history");
  auto raw = QueryInt(**conn, fmt::format("SELECT count(*) FROM {}", QuoteIdent("customer_raw")));
  for (const auto* q : {&loaded, &distinct, &all, &rows, &raw}) {
    if (!q->ok()) {
      return q->error();
    }
  }
  r.files = static_cast<uint64_t>(*loaded);
  r.rows = static_cast<uint64_t>(*rows);
  const std::string of = fmt::format("{} loader{}: ", loaders, loaders == 1 ? "" : "s");
  checks.push_back({of + fmt::format("every file loaded once ({} of {}, {} load_history rows, {} keys)",
                                     *loaded, want, *all, *distinct),
                    *loaded == want && *all == want && *distinct == want});
  checks.push_back(
      {of + fmt::format("every row loaded once (load_history {}, customer_raw {}, files {})", *rows, *raw,
                        c.loaded_rows),
       static_cast<uint64_t>(*rows) == c.loaded_rows && static_cast<uint64_t>(*raw) == c.loaded_rows});
  return Ok();
}

}  // namespace dimstream::scaleout
