// dimstream_bench_scaleout: issue 14's scale-out benchmark on PostgreSQL (see README.md). Load throughput
// with 1, 2 and 3 `dimstream load` processes, the merge's throughput and freshness on PostgreSQL, and the
// seed's procedure ported to PostgreSQL on the same files. Every dimstream role runs as a process of its own,
// started from the dimstream executable with a configuration file written for it.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "bench/bench_common.h"
#include "bench/scaleout/phases.h"
#include "bench/scaleout/report.h"
#include "bench/scaleout/servers.h"

namespace dimstream::scaleout {
namespace {

std::string ReadUrl(const fs::path& file) {
  std::ifstream in(file);
  std::string url;
  std::getline(in, url);
  return url;
}

// A directory under the system's temporary one that the servers' user (`nobody`, when run as root) may
// enter: the scripts give it the server's own directory inside.
Result<fs::path> ServerRoot() {
  std::string name = (fs::temp_directory_path() / "dimstream-scaleout-XXXXXX").string();
  if (mkdtemp(name.data()) == nullptr || chmod(name.c_str(), 0755) != 0) {
    return Error::Permanent("cannot make a directory for the servers under " +
                            fs::temp_directory_path().string());
  }
  return fs::path(name);
}

int Run(Options o, const std::string& servers_dir) {
  if (o.smoke) {
    o.files = 6;
    o.rows_per_file = 2000;
    o.keys = 4000;
    o.fresh_files = 4;
    o.fresh_rows = 500;
    o.fresh_per_sec = 4;
  }
  if (!servers_dir.empty()) {
    o.pg_url = o.pg_url.empty() ? ReadUrl(fs::path(servers_dir) / "postgres" / "url") : o.pg_url;
    o.amqp_url = o.amqp_url.empty() ? ReadUrl(fs::path(servers_dir) / "rabbitmq" / "url") : o.amqp_url;
  }
  Context c;
  c.o = o;
  const bool temp = o.dir.empty();
  const fs::path dir =
      temp ? fs::temp_directory_path() / fmt::format("dimstream_bench_scaleout_{}", ::getpid())
           : fs::path(o.dir);
  bench::WorkDir work(dir / "work", o.keep, temp ? std::optional<fs::path>(dir) : std::nullopt);
  c.work = work.path();
  c.files_dir = c.work / "files";
  fs::create_directories(c.files_dir);
  c.binary =
      o.binary.empty() ? fs::read_symlink("/proc/self/exe").parent_path() / "dimstream" : fs::path(o.binary);
  if (!fs::exists(c.binary)) {
    fmt::print(stderr, "dimstream_bench_scaleout: no dimstream executable at {} (--binary)\n",
               c.binary.string());
    return 1;
  }

  // The files first, before any server or thread.
  const BenchOptions workload = WorkloadOptions(o);
  c.plan = PlanFiles(workload);
  for (const auto& f : c.plan) {
    if (f.group == FileGroup::kInitial || f.group == FileGroup::kChange) {
      c.loaded.push_back(&f);
      c.loaded_rows += f.mix.rows();
      c.keys_at_end += f.mix.new_keys;
    } else if (f.group == FileGroup::kFresh) {
      c.fresh.push_back(&f);
    }
  }
  fmt::print(stderr, "generating {} files into {}\n", c.plan.size(), c.files_dir.string());
  Status generated = GenerateFiles(workload, c.plan, c.files_dir);
  if (!generated.ok()) {
    fmt::print(stderr, "dimstream_bench_scaleout: {}\n", generated.error().message);
    return 1;
  }

  std::optional<bench::WorkDir> server_root;
  std::unique_ptr<ScriptServer> postgres, rabbitmq;
  auto fail = [](const Error& e) {
    fmt::print(stderr, "dimstream_bench_scaleout: {}\n", e.message);
    return 1;
  };
  if (o.pg_url.empty() || o.amqp_url.empty()) {
    auto root = ServerRoot();
    if (!root.ok()) {
      return fail(root.error());
    }
    server_root.emplace(*root, o.keep);
    const fs::path scripts = fs::path(DIMSTREAM_SOURCE_DIR) / "scripts" / "servers";
    for (auto [name, server, url] :
         {std::tuple{"postgres", &postgres, &o.pg_url}, std::tuple{"rabbitmq", &rabbitmq, &o.amqp_url}}) {
      if (!url->empty()) {
        continue;
      }
      fmt::print(stderr, "starting a private {} in {}\n", name, (*root / name).string());
      auto s = ScriptServer::Start(scripts / (std::string(name) + ".sh"), *root / name);
      if (!s.ok()) {
        return fail(s.error());
      }
      *server = std::move(*s);
      *url = (*server)->url();
    }
  }
  c.pg_url = o.pg_url;
  c.amqp_url = o.amqp_url;

  Results r;
  auto phases = [&]() -> Status {
    for (uint64_t n : o.loaders) {
      fmt::print(stderr, "load phase: {} dimstream load process(es)\n", n);
      r.loads.emplace_back();
      DIMSTREAM_TRY(RunLoadPhase(c, n, r.loads.back(), r.checks));
      fmt::print(stderr, "  {} rows in {:.2f} s\n", r.loads.back().rows, r.loads.back().seconds);
    }
    auto order = LoadOrder(c, LoadDatabase(o.loaders.front()));
    if (!order.ok()) {
      return order.error();
    }
    fmt::print(stderr, "merge phase: dimstream merge\n");
    DIMSTREAM_TRY(RunMergePhase(c, r.merge, r.checks));
    fmt::print(stderr, "seed phase: the seed's procedure on PostgreSQL\n");
    DIMSTREAM_TRY(RunSeedPhase(c, *order, r.seed));
    DIMSTREAM_TRY(CompareWithSeed(c, r.checks));
    fmt::print(stderr, "freshness phase: dimstream run\n");
    return RunFreshnessPhase(c, r.fresh, r.checks);
  };
  Status st = phases();
  if (!st.ok()) {
    return fail(st.error());
  }
  const bool ok = PrintReport(c, r);
  if (o.keep) {
    fmt::print("\nkept: {}{}\n", c.work.string(), server_root ? " (servers stopped, their data kept)" : "");
  }
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace dimstream::scaleout

int main(int argc, char** argv) {
  dimstream::scaleout::Options o;
  std::string servers;
  CLI::App app{
      "dimstream_bench_scaleout: load with 1-3 processes, merge, freshness and the seed on PostgreSQL"};
  app.add_option("--files", o.files,
                 "Files loaded: the initial ones (--keys new keys) first, then change files");
  app.add_option("--rows-per-file", o.rows_per_file, "Rows of each loaded file");
  app.add_option("--keys", o.keys, "Keys of the initial files (the change files update them)");
  app.add_option("--loaders", o.loaders, "The load phases: how many `dimstream load` processes each runs")
      ->delimiter(',');
  app.add_option("--fresh-files", o.fresh_files, "Freshness: files dropped into a running `dimstream run`");
  app.add_option("--fresh-rows", o.fresh_rows, "Freshness: rows of each file");
  app.add_option("--fresh-per-sec", o.fresh_per_sec, "Freshness: files dropped a second");
  app.add_option("--poll-ms", o.poll_ms, "Freshness: how often the watermark is read");
  app.add_option("--seed", o.seed, "Seed of the generated data");
  app.add_option("--pg-url", o.pg_url,
                 "A PostgreSQL server to use (its databases scaleout_* are replaced); "
                 "default: a private one, scripts/servers/postgres.sh");
  app.add_option("--amqp-url", o.amqp_url,
                 "A RabbitMQ broker to use; default: a private one, "
                 "scripts/servers/rabbitmq.sh");
  app.add_option("--servers", servers,
                 "A directory with postgres/url and rabbitmq/url (CTest's server fixtures)");
  app.add_option("--binary", o.binary, "The dimstream executable (default: beside this program)");
  app.add_option("--dir", o.dir,
                 "Work directory (default: a temporary one, removed at the end unless --keep)");
  app.add_option("--log-level", o.log_level,
                 "The dimstream processes' log level (their logs are in the work "
                 "directory)");
  app.add_flag("--keep", o.keep, "Keep the work directory (files, configurations, the processes' logs)");
  app.add_flag("--smoke", o.smoke,
               "Small run for CI: 6 files of 2,000 rows, 4 fresh files; checks the results, "
               "never the speed");
  CLI11_PARSE(app, argc, argv);
  try {
    return dimstream::scaleout::Run(o, servers);
  } catch (const std::exception& e) {
    std::cerr << "dimstream_bench_scaleout: " << e.what() << "\n";
    return 1;
  }
}
