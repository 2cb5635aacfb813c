#pragma once

#include <unistd.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/testing/test_server.h"
#include "warehouse/postgres/pg_connection.h"
#include "warehouse/sql.h"

namespace dimstream::pg::testing {

// A database of the running test's own on the test PostgreSQL (the CTest fixture `postgres`,
// scripts/servers/postgres.sh), so that tests can run at the same time. Create it in SetUp with
// ASSERT_NO_FATAL_FAILURE(db.Create()).
class TestDatabase {
 public:
  void Create() {
    std::string why = TryCreate();
    ASSERT_TRUE(why.empty()) << why;
  }

  // Create for a caller that reports the failure itself: what failed, else empty.
  std::string TryCreate() {
    std::string why;
    server_url_ = test_support::TestServerValue("postgres", "url", &why);
    if (server_url_.empty()) {
      return why;
    }
    std::random_device random;
    name_ = fmt::format("test_{}_{:08x}", ::getpid(), random());
    if (std::string failed = Admin("CREATE DATABASE " + QuoteIdent(name_)); !failed.empty()) {
      return failed;
    }
    // The server's URL names its database last: this test's instead.
    url_ = UrlOf(name_);
    return {};
  }

  // Drops the database created, ending the connections still open to it: for tests that create hundreds
  // (a property test's cases), which would otherwise fill the server's disk. What failed, else empty.
  std::string Drop() {
    if (url_.empty()) {
      return {};
    }
    url_.clear();
    return Admin("DROP DATABASE " + QuoteIdent(name_) + " WITH (FORCE)");
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
  // Runs `sql` on the server's own database; what failed, else empty.
  std::string Admin(const std::string& sql) const {
    auto admin = PgConnection::Open(server_url_, "");
    if (!admin.ok()) {
      return admin.error().message;
    }
    Status done = (*admin)->Run(sql);
    return done.ok() ? std::string() : sql + ": " + done.error().message;
  }

  std::string server_url_;
  std::string name_;
  std::string url_;
};

// The first column of a query's rows as text ("NULL" for NULL).
inline std::vector<std::string> Column(PgConnection& conn, const std::string& sql) {
  auto r = conn.Exec(sql);
  EXPECT_TRUE(r.ok()) << r.error().message;
  std::vector<std::string> out;
  for (int i = 0; r.ok() && i < r->rows(); ++i) {
    out.push_back(r->IsNull(i, 0) ? "NULL" : std::string(r->Text(i, 0)));
  }
  return out;
}

}  // namespace dimstream::pg::testing
