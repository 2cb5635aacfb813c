#pragma once

#include <unistd.h>

#include <memory>
#include <random>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/testing/test_server.h"
#include "warehouse/postgres/pg_connection.h"

namespace dimstream::pg::testing {

// A database of the running test's own on the test PostgreSQL (the CTest fixture `postgres`,
// scripts/servers/postgres.sh), so that tests can run at the same time. Create it in SetUp with
// ASSERT_NO_FATAL_FAILURE(db.Create()).
class TestDatabase {
 public:
  void Create() {
    std::string why;
    server_url_ = test_support::TestServerValue("postgres", "url", &why);
    ASSERT_FALSE(server_url_.empty()) << why;
    std::random_device random;
    const std::string name = fmt::format("test_{}_{:08x}", ::getpid(), random());
    auto admin = PgConnection::Open(server_url_, "");
    ASSERT_TRUE(admin.ok()) << admin.error().message;
    ASSERT_TRUE((*admin)->Run("CREATE DATABASE " + name).ok());
    // The server's URL names its database last: this test's instead.
    url_ = UrlOf(name);
  }

  // The URL of database `name` on the test server.
  std::string UrlOf(const std::string& name) const {
    return server_url_.substr(0, server_url_.rfind('/') + 1) + name;
  }
  const std::string& url() const { return url_; }

  std::unique_ptr<PgConnection> Connect() const {
    auto c = PgConnection::Open(url_, "");
    EXPECT_TRUE(c.ok()) << c.error().message;
    return c.ok() ? std::move(*c) : nullptr;
  }

 private:
  std::string server_url_;
  std::string url_;
};

}  // namespace dimstream::pg::testing
