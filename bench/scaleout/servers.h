#pragma once

// The servers of dimstream_bench_scaleout: a private PostgreSQL and a private RabbitMQ started with the
// project's scripts (scripts/servers/*.sh start DIR / stop DIR), or given by URL; the databases of the run;
// and small queries through the PostgreSQL adapter's connection.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "warehouse/postgres/pg_connection.h"

namespace dimstream::scaleout {

namespace fs = std::filesystem;

// A server started with `script start dir` (which prints its URL and writes it to dir/url) and stopped with
// `script stop dir` (by the server's process id) when destroyed.
class ScriptServer {
 public:
  static Result<std::unique_ptr<ScriptServer>> Start(const fs::path& script, const fs::path& dir);
  ~ScriptServer();
  ScriptServer(const ScriptServer&) = delete;
  ScriptServer& operator=(const ScriptServer&) = delete;
  const std::string& url() const { return url_; }

 private:
  ScriptServer(fs::path script, fs::path dir, std::string url)
      : script_(std::move(script)), dir_(std::move(dir)), url_(std::move(url)) {}
  fs::path script_;
  fs::path dir_;
  std::string url_;
};

// `url` (postgresql://user@host:port/db?options) with the database `db` instead of its own.
std::string WithDatabase(const std::string& url, const std::string& db);

// Drops `db` if it exists and creates it empty, through a connection to the server at `url`.
Status RecreateDatabase(const std::string& url, const std::string& db);

// A connection to `url` (no password: the private server trusts its user; libpq's .pgpass otherwise).
Result<std::unique_ptr<pg::PgConnection>> Connect(const std::string& url);

// The first column of the first row of `sql` as a number; 0 when it is NULL or there is no row.
Result<int64_t> QueryInt(pg::PgConnection& c, const std::string& sql,
                         const std::vector<pg::Param>& params = {});

}  // namespace dimstream::scaleout
