#include "observe/http_server.h"

#include <cstdlib>

#include <gtest/gtest.h>
#include <httplib.h>

namespace dimstream {
namespace {

HttpHandlers Handlers() {
  HttpHandlers h;
  h.metrics = [] { return std::string("dimstream_up 1\n"); };
  h.status = []() -> Result<std::string> { return std::string(R"({"ok":true})"); };
  h.sql = [](const std::string& sql, const std::string& format) -> Result<HttpBody> {
    if (sql == "DROP TABLE t") {
      return Error::Invalid("only SELECT and EXPLAIN are allowed here, not DROP");
    }
    return HttpBody{format == "csv" ? "text/csv" : "application/json", format + ":" + sql};
  };
  return h;
}

std::unique_ptr<HttpServer> StartOn(const std::string& listen, std::optional<Secret> token = std::nullopt) {
  auto parsed = ParseHttpListen(listen);
  EXPECT_TRUE(parsed.ok()) << listen;
  auto server = HttpServer::Start(*parsed, std::move(token), Handlers());
  EXPECT_TRUE(server.ok()) << server.error().message;
  return server.ok() ? std::move(*server) : nullptr;
}

TEST(HttpListenTest, ParsesHostsAndPorts) {
  auto a = ParseHttpListen("127.0.0.1:7470");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 7470);
  EXPECT_TRUE(a->loopback);
  auto b = ParseHttpListen("[::1]:80");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_TRUE(b->loopback);
  auto c = ParseHttpListen("0.0.0.0:7470");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->loopback);
  EXPECT_TRUE(ParseHttpListen("localhost:0")->loopback);
  for (const char* bad : {"7470", "127.0.0.1:", ":7470", "127.0.0.1:70000", "127.0.0.1:x"}) {
    auto r = ParseHttpListen(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::kInvalidInput);
  }
}

TEST(HttpServerTest, ServesMetricsStatusAndQueries) {
  auto server = StartOn("127.0.0.1:0");
  ASSERT_NE(server, nullptr);
  ASSERT_GT(server->port(), 0);
  httplib::Client client("127.0.0.1", server->port());
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->body, "dimstream_up 1\n");
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  auto status = client.Get("/api/status");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->body, R"({"ok":true})");
  EXPECT_EQ(status->get_header_value("Content-Type"), "application/json");
  auto get = client.Get("/api/sql?q=SELECT%201&format=csv");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "csv:SELECT 1");
  auto post = client.Post("/api/sql", "SELECT 2", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->body, "json:SELECT 2");
  auto refused = client.Get("/api/sql?q=DROP%20TABLE%20t");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400);
  EXPECT_NE(refused->body.find("not DROP"), std::string::npos);
  auto empty = client.Get("/api/sql");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status, 400);
  auto page = client.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page->body.find("<script src=\"dashboard.js\"></script>"), std::string::npos);
  for (const char* asset : {"/dashboard.js", "/dashboard.css", "/index.html"}) {
    auto r = client.Get(asset);
    ASSERT_TRUE(r) << asset;
    EXPECT_EQ(r->status, 200) << asset;
    EXPECT_GT(r->body.size(), 500u) << asset;
  }
  EXPECT_EQ(client.Get("/dashboard.js")->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  auto missing = client.Get("/nothing-here");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST(HttpServerTest, AnAddressBeyondLoopbackNeedsAToken) {
  auto listen = ParseHttpListen("0.0.0.0:0");
  ASSERT_TRUE(listen.ok());
  auto refused = HttpServer::Start(*listen, std::nullopt, Handlers());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kInvalidInput);
  EXPECT_NE(refused.error().message.find("http.token"), std::string::npos);
}

TEST(HttpServerTest, WithATokenEveryRequestMustCarryIt) {
  ::setenv("DIMSTREAM_TEST_HTTP_TOKEN", "s3cret-token", 1);
  auto token = ReadSecret({SecretSource::Kind::kEnv, "DIMSTREAM_TEST_HTTP_TOKEN"});
  ASSERT_TRUE(token.ok());
  auto server = StartOn("0.0.0.0:0", *token);
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());
  for (const char* path : {"/metrics", "/api/status", "/api/sql?q=SELECT%201", "/"}) {
    auto r = client.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 401) << path;
    EXPECT_EQ(r->body.find("s3cret"), std::string::npos);
  }
  auto wrong = client.Get("/metrics", {{"Authorization", "Bearer s3cret-tokeX"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  auto bearer = client.Get("/metrics", {{"Authorization", "Bearer s3cret-token"}});
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->status, 200);
  auto param = client.Get("/api/status?token=s3cret-token");
  ASSERT_TRUE(param);
  EXPECT_EQ(param->status, 200);
}

TEST(HttpServerTest, APortInUseIsRefusedWithItsAddress) {
  auto first = StartOn("127.0.0.1:0");
  ASSERT_NE(first, nullptr);
  auto listen = ParseHttpListen("127.0.0.1:" + std::to_string(first->port()));
  auto second = HttpServer::Start(*listen, std::nullopt, Handlers());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find(std::to_string(first->port())), std::string::npos);
}

}  // namespace
}  // namespace dimstream
