#pragma once

#include <duckdb.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "common/error.h"
#include "warehouse/duckdb/duckdb_handles.h"

namespace dimstream::duck {

// One open DuckDB database instance, closed when its last user lets go.
class Database {
 public:
  explicit Database(duckdb_database db) : db_(db) {}
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database() { duckdb_close(&db_); }
  duckdb_database get() const { return db_; }

 private:
  duckdb_database db_;
};

// A connection, and the instance it belongs to kept open while it is used.
struct Connected {
  std::shared_ptr<Database> db;
  std::unique_ptr<Connection> conn;  // declared after `db`: closed before it
};

// Keeps the database instance of one file, and replaces it with a fresh one from disk after a failed commit.
//
// Why: DuckDB 1.4.4 does not undo all of a transaction's in-memory appends when its COMMIT fails writing
// the WAL (disk full, file size limit). A row committed later to a table that transaction had appended to
// can read back with the failed transaction's text glued on ("failed" became "failedsucceeded"), in memory
// and then on disk. So no instance writes again after a failed commit: every COMMIT goes through Commit(),
// one at a time; the first that fails retires its instance, later ones on that instance are rolled back
// (retryable), and the next Acquire() opens the file again once the retired instance's last user is gone.
class DatabaseKeeper {
 public:
  using OpenFn = std::function<Result<duckdb_database>()>;
  // `wait`: how long Acquire() waits for the users of a retired instance before giving up (retryable).
  DatabaseKeeper(OpenFn open, std::chrono::milliseconds wait);
  DatabaseKeeper(const DatabaseKeeper&) = delete;
  DatabaseKeeper& operator=(const DatabaseKeeper&) = delete;
  ~DatabaseKeeper();  // every Connected and Database it handed out must be gone by then

  // The current instance, opening it (again) when there is none.
  Result<std::shared_ptr<Database>> Acquire();
  // A new connection to the current instance.
  Result<Connected> Connect();
  // Commits `conn`'s open transaction, made on `db`. Rolls it back instead (retryable) when `db` has been
  // retired meanwhile; a failed COMMIT retires `db`.
  Status Commit(Connection& conn, const Database& db);
  // Retires `db` if it is still the current instance (after a failed statement that may have left it
  // unusable).
  void Retire(const Database& db, const std::string& why);
  // How many times an instance was retired.
  uint64_t retirements() const;

 private:
  OpenFn open_;
  std::chrono::milliseconds wait_;
  std::mutex commit_mu_;  // one COMMIT at a time, so none runs on an instance after its failed one
  mutable std::mutex mu_;
  std::condition_variable released_;
  std::shared_ptr<Database> current_;
  size_t alive_ = 0;  // instances not yet closed: the current one and retired ones still in use
  uint64_t retirements_ = 0;
};

// True when a DuckDB error message says the instance should not be used again (a failed commit, or
// DuckDB itself invalidated the database after a fatal error).
bool LeavesInstanceUnusable(const std::string& message);

}  // namespace dimstream::duck
