#include "warehouse/postgres/pg_pool.h"

namespace dimstream::pg {

Result<PgPool::Lease> PgPool::Acquire() {
  std::unique_ptr<PgConnection> conn;
  {
    std::lock_guard lock(mu_);
    while (!idle_.empty() && conn == nullptr) {
      conn = std::move(idle_.back());
      idle_.pop_back();
      if (conn->broken()) {
        conn.reset();
      }
    }
  }
  if (conn == nullptr) {
    auto opened = PgConnection::Open(url_, password_);
    if (!opened.ok()) {
      return opened.error();
    }
    conn = std::move(*opened);
  }
  return Lease(conn.release(), [this](PgConnection* c) { GiveBack(c); });
}

void PgPool::GiveBack(PgConnection* conn) {
  std::unique_ptr<PgConnection> owned(conn);
  if (owned->broken() || PQtransactionStatus(owned->raw()) != PQTRANS_IDLE) {
    return;
  }
  std::lock_guard lock(mu_);
  if (idle_.size() < max_idle_) {
    idle_.push_back(std::move(owned));
  }
}

}  // namespace dimstream::pg
