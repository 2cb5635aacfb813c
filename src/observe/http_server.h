#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "common/error.h"
#include "common/secret.h"
#include "config/server_urls.h"

namespace httplib {
class Server;
}

namespace dimstream {

// A response body and its media type.
struct HttpBody {
  std::string content_type;
  std::string body;
};

// What the endpoints serve; each is called on one of the server's threads, so it must be thread-safe.
struct HttpHandlers {
  std::function<std::string()> metrics;         // GET /metrics
  std::function<Result<std::string>()> status;  // GET /api/status (JSON)
  // GET /api/sql?q=...&format=json|csv|parquet (or POST with the statement as the body): read-only
  // statements only.
  std::function<Result<HttpBody>(const std::string& sql, const std::string& format)> sql;
};

// The HTTP endpoints of a running process: /metrics (Prometheus), /api/status, /api/sql, on a few threads
// of its own until destroyed. With a token, every request must carry it (`Authorization: Bearer <token>`,
// or `?token=` for a browser's first page) or gets 401; the token is never logged.
class HttpServer {
 public:
  static Result<std::unique_ptr<HttpServer>> Start(const HttpListen& listen, std::optional<Secret> token,
                                                   HttpHandlers handlers);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The port it listens on (the one chosen when asked for port 0).
  int port() const { return port_; }

 private:
  HttpServer() = default;

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace dimstream
