#include "bench/scaleout/servers.h"

#include <fstream>

#include <fmt/format.h>

#include "bench/scaleout/child.h"
#include "warehouse/sql.h"

namespace dimstream::scaleout {

Result<std::unique_ptr<ScriptServer>> ScriptServer::Start(const fs::path& script, const fs::path& dir) {
  const fs::path log = dir.parent_path() / (dir.filename().string() + ".log");
  DIMSTREAM_TRY(RunToEnd({script.string(), "start", dir.string()}, log));
  std::ifstream in(dir / "url");
  std::string url;
  std::getline(in, url);
  if (url.empty()) {
    return Error::Permanent(fmt::format("{} wrote no URL into {}", script.string(), (dir / "url").string()));
  }
  return std::unique_ptr<ScriptServer>(new ScriptServer(script, dir, url));
}

ScriptServer::~ScriptServer() {
  const fs::path log = dir_.parent_path() / (dir_.filename().string() + ".log");
  Status st = RunToEnd({script_.string(), "stop", dir_.string()}, log);
  if (!st.ok()) {
    fmt::print(stderr, "dimstream_bench_scaleout: {}\n", st.error().message);
  }
}

std::string WithDatabase(const std::string& url, const std::string& db) {
  const size_t scheme = url.find("://");
  const size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  const size_t query = url.find('?');
  const std::string head = url.substr(0, slash == std::string::npos ? url.find('?') : slash);
  const std::string tail = query == std::string::npos ? "" : url.substr(query);
  return head + "/" + db + tail;
}

Result<std::unique_ptr<pg::PgConnection>> Connect(const std::string& url) {
  return pg::PgConnection::Open(url, "");
}

Status RecreateDatabase(const std::string& url, const std::string& db) {
  auto c = Connect(WithDatabase(url, "postgres"));
  if (!c.ok()) {
    return c.error();
  }
  // Names cannot be bound: quoted as identifiers.
  DIMSTREAM_TRY((*c)->Run(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", QuoteIdent(db)), {},
                          "drop database " + db));
  return (*c)->Run(fmt::format("CREATE DATABASE {}", QuoteIdent(db)), {}, "create database " + db);
}

Result<int64_t> QueryInt(pg::PgConnection& c, const std::string& sql, const std::vector<pg::Param>& params) {
  auto r = c.Exec(sql, params, "query a number");
  if (!r.ok()) {
    return r.error();
  }
  if (r->rows() == 0 || r->columns() == 0 || r->IsNull(0, 0)) {
    return int64_t{0};
  }
  return r->Int(0, 0);
}

}  // namespace dimstream::scaleout
