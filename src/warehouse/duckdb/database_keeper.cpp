#include "warehouse/duckdb/database_keeper.h"

#include <spdlog/spdlog.h>

namespace dimstream::duck {

DatabaseKeeper::DatabaseKeeper(OpenFn open, std::chrono::milliseconds wait)
    : open_(std::move(open)), wait_(wait) {}

DatabaseKeeper::~DatabaseKeeper() {
  current_.reset();  // closes the instance: every operation that held it has ended before the keeper does
}

Result<Connected> DatabaseKeeper::Connect() {
  auto db = Acquire();
  if (!db.ok()) {
    return db.error();
  }
  Connected c{std::move(*db), nullptr};
  c.conn = std::make_unique<Connection>(c.db->get());
  if (!c.conn->ok()) {
    return Error::Retryable("cannot connect to the warehouse");
  }
  return c;
}

Result<std::shared_ptr<Database>> DatabaseKeeper::Acquire() {
  std::unique_lock lock(mu_);
  if (current_) {
    return current_;
  }
  // Two instances of one file in one process would both write it: wait until the retired one is closed.
  if (!released_.wait_for(lock, wait_, [&] { return alive_ == 0; })) {
    return Error::Retryable(
        "the warehouse is being reopened after a failed commit, and an operation still uses the old "
        "instance");
  }
  auto db = open_();
  if (!db.ok()) {
    return db.error();
  }
  ++alive_;
  current_ = std::shared_ptr<Database>(new Database(*db), [this](Database* d) {
    delete d;
    {
      std::lock_guard released(mu_);
      --alive_;
    }
    released_.notify_all();
  });
  if (retirements_ > 0) {
    spdlog::info("warehouse reopened from disk after a failed commit");
  }
  return current_;
}

Status DatabaseKeeper::Commit(Connection& conn, const Database& db) {
  std::lock_guard serial(commit_mu_);
  bool retired = false;
  {
    std::lock_guard lock(mu_);
    retired = current_.get() != &db;
  }
  if (retired) {
    (void)conn.Exec("ROLLBACK");
    return Error::Retryable(
        "the transaction was rolled back: another commit failed meanwhile, and the warehouse is reopened");
  }
  Status committed = conn.Exec("COMMIT");
  if (!committed.ok()) {
    (void)conn.Exec("ROLLBACK");  // normally there is nothing left to roll back
    Retire(db, committed.error().message);
    return Error::Retryable(committed.error().message + " (the warehouse will be reopened from disk)");
  }
  return Ok();
}

void DatabaseKeeper::Retire(const Database& db, const std::string& why) {
  std::shared_ptr<Database> retired;  // released after the lock: it may be the last user
  {
    std::lock_guard lock(mu_);
    if (current_.get() != &db) {
      return;
    }
    retired = std::move(current_);
    ++retirements_;
  }
  spdlog::warn("warehouse instance retired, to be reopened from disk: {}", why);
}

uint64_t DatabaseKeeper::retirements() const {
  std::lock_guard lock(mu_);
  return retirements_;
}

bool LeavesInstanceUnusable(const std::string& message) {
  return message.find("Failed to commit") != std::string::npos ||
         message.find("database has been invalidated") != std::string::npos ||
         message.find("FATAL Error") != std::string::npos;
}

}  // namespace dimstream::duck
