#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/error.h"
#include "warehouse/postgres/pg_connection.h"

namespace dimstream::pg {

// Connections to one database, reused: a load or a merge run takes one for its transaction and gives it back
// when it is done. Thread-safe. A connection given back broken or inside a transaction is dropped, not kept.
// The pool must outlive its leases.
class PgPool {
 public:
  using Lease = std::unique_ptr<PgConnection, std::function<void(PgConnection*)>>;

  PgPool(std::string url, std::string password, size_t max_idle = 4)
      : url_(std::move(url)), password_(std::move(password)), max_idle_(max_idle) {}
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // An idle connection, or a new one (PgConnection::Open's errors).
  Result<Lease> Acquire();
  const std::string& url() const { return url_; }
  const std::string& password() const { return password_; }

 private:
  void GiveBack(PgConnection* conn);

  std::string url_;
  std::string password_;
  size_t max_idle_;
  std::mutex mu_;
  std::vector<std::unique_ptr<PgConnection>> idle_;
};

}  // namespace dimstream::pg
