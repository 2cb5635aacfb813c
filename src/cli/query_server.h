#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "common/error.h"
#include "common/stop.h"
#include "warehouse/warehouse.h"

namespace dimstream {

// Where the process holding `warehouse` serves queries: a Unix socket in a directory only this user can
// enter (/tmp/dimstream-<uid>/), named after the warehouse file's absolute path.
std::filesystem::path QuerySocketFor(const std::filesystem::path& warehouse);

// Lets `dimstream sql` and `dimstream status` query a warehouse file that a running dimstream process
// holds (DuckDB allows one writing process per file). Owned by that process; Run accepts one request at
// a time on the calling thread until stop. The socket is private (mode 0600 in a 0700 directory).
class QueryServer {
 public:
  static Result<std::unique_ptr<QueryServer>> Start(const std::filesystem::path& socket,
                                                    Warehouse& warehouse);
  ~QueryServer();
  void Run(const StopSignal& stop);

 private:
  QueryServer(int fd, std::filesystem::path socket, Warehouse& warehouse);
  void Serve(int client);

  int fd_;
  std::filesystem::path socket_;
  Warehouse& warehouse_;
};

// Sends one query to the server at `socket`. kNotFound when nothing listens there.
Result<QueryResult> RemoteQuery(const std::filesystem::path& socket, const std::string& sql);

}  // namespace dimstream
