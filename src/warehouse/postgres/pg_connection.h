#pragma once

#include <libpq-fe.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace dimstream::pg {

using Param = std::optional<std::string>;  // a bound parameter as text; nullopt is NULL

// A query's result (libpq's PGresult), owned.
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* r) : r_(r, &PQclear) {}
  int rows() const { return r_ ? PQntuples(r_.get()) : 0; }
  int columns() const { return r_ ? PQnfields(r_.get()) : 0; }
  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string_view Text(int row, int col) const {
    return std::string_view(PQgetvalue(r_.get(), row, col),
                            static_cast<size_t>(PQgetlength(r_.get(), row, col)));
  }
  int64_t Int(int row, int col) const;
  // The column's name.
  std::string_view Name(int col) const { return PQfname(r_.get(), col); }
  // The rows an INSERT, UPDATE or DELETE changed.
  uint64_t Affected() const;
  PGresult* get() const { return r_.get(); }

 private:
  std::unique_ptr<PGresult, decltype(&PQclear)> r_{nullptr, &PQclear};
};

// One connection to PostgreSQL (libpq, Debian's libpq-dev). Not thread-safe: each user keeps its own. Every
// statement binds its values as parameters. Once the server is found gone, `broken()` is true and the
// connection is good for nothing but being dropped.
class PgConnection {
 public:
  // Connects to `url` (postgresql://user@host:port/db?sslmode=..., libpq's own syntax; no password in it)
  // with `password` (empty: none, or libpq's .pgpass). kRetryable when the server cannot be reached,
  // kPermanent when it refuses the login or the database does not exist.
  static Result<std::unique_ptr<PgConnection>> Open(const std::string& url, const std::string& password);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs one statement with its parameters; `what` says what it does, for the error. The error's kind comes
  // from the SQLSTATE (ErrorOf).
  Result<PgResult> Exec(std::string_view sql, const std::vector<Param>& params = {},
                        std::string_view what = "run a statement");
  Status Run(std::string_view sql, const std::vector<Param>& params = {}, std::string_view what = "") {
    auto r = Exec(sql, params, what.empty() ? std::string_view("run a statement") : what);
    return r.ok() ? Ok() : Status(r.error());
  }
  // Runs `sql` as it is, by the simple query protocol: a user's text, which may hold several statements (or
  // none) and binds nothing. The last statement's result; the first failure stops it (Exec's errors).
  Result<PgResult> ExecScript(const std::string& sql, std::string_view what);
  // Runs a query in the open transaction through a cursor, `batch` rows at a time, handing each batch to
  // `sink`: a result of any size in bounded memory.
  Status Stream(std::string_view sql, const std::vector<Param>& params, std::string_view what,
                const std::function<void(const PgResult&)>& sink, int batch = 20000);
  // COPY ... TO STDOUT: hands the data to `sink` as it comes (false from it stops reading: the data could
  // not be kept). Returns the rows copied.
  Result<uint64_t> CopyOut(std::string_view copy_sql, const std::function<bool(std::string_view)>& sink,
                           std::string_view what);
  // COPY ... FROM STDIN with `data` in COPY's text format (a batch of rows). Returns the rows copied.
  Result<uint64_t> CopyIn(std::string_view copy_sql, std::string_view data, std::string_view what);

  bool broken() const { return PQstatus(conn_) != CONNECTION_OK; }
  // "postgresql://dim@127.0.0.1:5432/dimstream": for messages, never a password.
  const std::string& where() const { return where_; }
  PGconn* raw() const { return conn_; }

 private:
  // The error of a failed result, `what` saying what was asked.
  Error Failure(const PgResult& r, std::string_view what) const;
  // The results after a COPY's data: the rows copied, or the first failure.
  Result<uint64_t> CopyEnded(std::string_view what);

  PgConnection(PGconn* conn, std::string where) : conn_(conn), where_(std::move(where)) {}

  PGconn* conn_;
  std::string where_;
};

// What a failed statement means for the caller, from its SQLSTATE: kRetryable for a lost connection (08),
// a serialization failure or deadlock (40), a lock not available (55P03), a server shutting down (57P),
// too little room (53); kInvalidInput for bad data (22); kNotFound for a missing table (42P01); kPermanent
// for the rest (a refused login, a constraint, a programming error).
ErrorKind KindOfSqlState(std::string_view sqlstate);

// The SQLSTATE of a failed result ("23505"), empty when there is none.
std::string SqlStateOf(const PgResult& result);
// The SQLSTATE an error of PgConnection's names ("25006"), empty when it names none.
std::string SqlStateOf(const Error& error);

// Appends `value` to `out` escaped for COPY's text format (backslash, tab, newline, carriage return).
void AppendCopyText(std::string& out, std::string_view value);

}  // namespace dimstream::pg
