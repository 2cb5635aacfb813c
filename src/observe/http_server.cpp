#include "observe/http_server.h"

#include <openssl/crypto.h>

#include <atomic>
#include <chrono>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "observe/dashboard_assets.h"

namespace dimstream {
namespace {

// Constant-time comparison: how long a wrong token takes to refuse says nothing of the right one.
bool SameToken(const std::string& given, const std::string& expected) {
  return given.size() == expected.size() && CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0;
}

std::string GivenToken(const httplib::Request& req) {
  const std::string auth = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.compare(0, kBearer.size(), kBearer) == 0) {
    return auth.substr(kBearer.size());
  }
  return req.get_param_value("token");
}

void Reply(httplib::Response& res, int status, const std::string& body, const char* type) {
  res.status = status;
  res.set_content(body, type);
}

const char* ContentType(std::string_view path) {
  if (path.ends_with(".html")) {
    return "text/html; charset=utf-8";
  }
  if (path.ends_with(".js")) {
    return "text/javascript; charset=utf-8";
  }
  if (path.ends_with(".css")) {
    return "text/css; charset=utf-8";
  }
  return "application/octet-stream";
}

void ReplyError(httplib::Response& res, const Error& e) {
  // The request's fault (a statement that is refused, or fails however often it is sent) or a moment's
  // (the warehouse busy or away: try again).
  int status = e.kind == ErrorKind::kRetryable ? 503 : e.kind == ErrorKind::kNotFound ? 404 : 400;
  Reply(res, status, e.message + "\n", "text/plain; charset=utf-8");
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpListen& listen, std::optional<Secret> token,
                                                      HttpHandlers handlers) {
  if (!listen.loopback && !token) {
    return Error::Invalid("http.listen " + listen.host +
                          " is not a loopback address: name a token in http.token (a [secrets] entry)");
  }
  std::unique_ptr<HttpServer> self(new HttpServer());
  self->server_ = std::make_unique<httplib::Server>();
  httplib::Server& svr = *self->server_;
  // A few threads: scrapes, a dashboard or two and their queries; a query waits its turn in the warehouse.
  svr.new_task_queue = [] { return new httplib::ThreadPool(4); };
  svr.set_read_timeout(10, 0);
  svr.set_write_timeout(30, 0);
  svr.set_payload_max_length(1 << 20);
  // SO_REUSEADDR alone: cpp-httplib's default adds SO_REUSEPORT, with which a second process would share the
  // port instead of being told it is taken.
  svr.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  if (token) {
    svr.set_pre_routing_handler(
        [expected = token->Reveal()](const httplib::Request& req, httplib::Response& res) {
          if (SameToken(GivenToken(req), expected)) {
            return httplib::Server::HandlerResponse::Unhandled;
          }
          res.set_header("WWW-Authenticate", "Bearer");
          Reply(res, 401, "a token is required (Authorization: Bearer <http.token>)\n",
                "text/plain; charset=utf-8");
          return httplib::Server::HandlerResponse::Handled;
        });
  }
  auto h = std::make_shared<HttpHandlers>(std::move(handlers));
  svr.Get("/metrics", [h](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200, h->metrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
  svr.Get("/api/status", [h](const httplib::Request&, httplib::Response& res) {
    auto r = h->status();
    if (!r.ok()) {
      ReplyError(res, r.error());
      return;
    }
    Reply(res, 200, *r, "application/json");
  });
  auto sql = [h](const httplib::Request& req, httplib::Response& res) {
    const std::string query = req.method == "POST" && !req.body.empty() ? req.body : req.get_param_value("q");
    const std::string format = req.has_param("format") ? req.get_param_value("format") : "json";
    if (query.empty()) {
      Reply(res, 400, "no statement: pass it as ?q=... or as the body of a POST\n",
            "text/plain; charset=utf-8");
      return;
    }
    auto r = h->sql(query, format);
    if (!r.ok()) {
      ReplyError(res, r.error());
      return;
    }
    Reply(res, 200, r->body, r->content_type.c_str());
  };
  svr.Get("/api/sql", sql);
  svr.Post("/api/sql", sql);
  // The dashboard: its page at / and its files beside it, from the binary.
  for (const DashboardAsset& asset : DashboardAssets()) {
    auto serve = [&asset](const httplib::Request&, httplib::Response& res) {
      res.set_header("Cache-Control", "no-cache");
      res.set_header("Content-Security-Policy",
                     "default-src 'self'; img-src 'self' blob: data:; connect-src 'self' blob:");
      Reply(res, 200, std::string(asset.text), ContentType(asset.path));
    };
    svr.Get(std::string(asset.path), serve);
    if (asset.path == "/index.html") {
      svr.Get("/", serve);
    }
  }
  svr.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    // The path only: a token passed as ?token= must not reach the log.
    spdlog::debug("http {} {} -> {}", req.method, req.path, res.status);
  });

  if (listen.port == 0) {
    self->port_ = svr.bind_to_any_port(listen.host);
  } else if (svr.bind_to_port(listen.host, listen.port)) {
    self->port_ = listen.port;
  } else {
    self->port_ = -1;
  }
  if (self->port_ <= 0) {
    return Error::Retryable("cannot listen on " + listen.host + ":" + std::to_string(listen.port) +
                            " (http.listen): the address is in use or not this machine's");
  }
  auto returned = std::make_shared<std::atomic<bool>>(false);
  self->thread_ = std::thread([&svr, returned] {
    svr.listen_after_bind();
    *returned = true;
  });
  // Until the loop runs, stop() would not stop it (cpp-httplib 0.11 has no wait_until_ready): wait for it,
  // so that destroying the server right after Start cannot leave the thread listening.
  while (!svr.is_running() && !*returned) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  spdlog::info("http: serving the dashboard, /metrics, /api/status and /api/sql on {}:{}", listen.host,
               self->port_);
  return self;
}

HttpServer::~HttpServer() {
  if (server_) {
    server_->stop();
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

}  // namespace dimstream
