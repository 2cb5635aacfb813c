#include "warehouse/postgres/pg_connection.h"

#include <cstdlib>

#include <fmt/format.h>

#include "warehouse/sql.h"

namespace dimstream::pg {
namespace {

constexpr const char* kTempBuffers = "256MB";

std::string Trimmed(const char* message) {
  std::string m = message == nullptr ? "" : message;
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) {
    m.pop_back();
  }
  return m;
}

}  // namespace

int64_t PgResult::Int(int row, int col) const {
  return IsNull(row, col) ? 0 : std::strtoll(PQgetvalue(r_.get(), row, col), nullptr, 10);
}

uint64_t PgResult::Affected() const {
  return r_ ? std::strtoull(PQcmdTuples(r_.get()), nullptr, 10) : 0;
}

ErrorKind KindOfSqlState(std::string_view s) {
  if (s.starts_with("08") || s.starts_with("40") || s == "55P03" || s.starts_with("57P") ||
      s.starts_with("53")) {
    return ErrorKind::kRetryable;
  }
  if (s.starts_with("22")) {
    return ErrorKind::kInvalidInput;
  }
  if (s == "42P01") {
    return ErrorKind::kNotFound;
  }
  return ErrorKind::kPermanent;
}

std::string SqlStateOf(const PgResult& result) {
  const char* state = result.get() == nullptr ? nullptr : PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
  return state == nullptr ? std::string() : std::string(state);
}

std::string SqlStateOf(const Error& error) {
  // As Failure writes it, last in the message.
  constexpr std::string_view kTag = " (SQLSTATE ";
  const std::string& m = error.message;
  const size_t at = m.rfind(kTag);
  if (at == std::string::npos || !m.ends_with(")")) {
    return {};
  }
  const size_t from = at + kTag.size();
  return m.substr(from, m.size() - 1 - from);
}

void AppendCopyText(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out.push_back(c);
    }
  }
}

Result<std::unique_ptr<PgConnection>> PgConnection::Open(const std::string& url,
                                                         const std::string& password) {
  std::vector<const char*> keys = {"dbname", "connect_timeout", "application_name"};
  std::vector<const char*> values = {url.c_str(), "10", "dimstream"};
  if (!password.empty()) {
    keys.push_back("password");
    values.push_back(password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (conn == nullptr) {
    return Error::Retryable("cannot allocate a PostgreSQL connection");
  }
  std::unique_ptr<PgConnection> c(new PgConnection(conn, url));
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = Trimmed(PQerrorMessage(conn));
    std::string full = fmt::format("cannot connect to PostgreSQL at {}: {}", url, message);
    // A login refused, or a database or role that is not there, stays so however often it is tried.
    const bool refused = message.find("authentication failed") != std::string::npos ||
                         message.find("no password supplied") != std::string::npos ||
                         message.find("does not exist") != std::string::npos ||
                         message.find("invalid") != std::string::npos;
    return refused ? Error::Permanent(full) : Error::Retryable(full);
  }
  // Only warnings and worse reach the log; NOTICEs (CREATE ... IF NOT EXISTS) are dropped.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  // A merge run's temporary tables (its stage: every staged row, wide) in memory, as far as they fit: the
  // server's default (8MB) sends a run of 50,000 rows to the disk. The buffers are taken only as used, and
  // only before the session's first temporary table may the setting change.
  DIMSTREAM_TRY(
      c->Run(fmt::format("SET temp_buffers = {}", QuoteLiteral(kTempBuffers)), {}, "set up the connection"));
  return c;
}

PgConnection::~PgConnection() {
  PQfinish(conn_);
}

Result<PgResult> PgConnection::Exec(std::string_view sql, const std::vector<Param>& params,
                                    std::string_view what) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const Param& p : params) {
    values.push_back(p ? p->c_str() : nullptr);
  }
  const std::string text(sql);
  PgResult r(PQexecParams(conn_, text.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                          nullptr, nullptr, 0));
  const ExecStatusType status = r.get() == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(r.get());
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
    return r;
  }
  return Failure(r, what);
}

Result<PgResult> PgConnection::ExecScript(const std::string& sql, std::string_view what) {
  PgResult r(PQexec(conn_, sql.c_str()));
  const ExecStatusType status = r.get() == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(r.get());
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
    return r;
  }
  return Failure(r, what);
}

Status PgConnection::Stream(std::string_view sql, const std::vector<Param>& params, std::string_view what,
                            const std::function<void(const PgResult&)>& sink, int batch) {
  DIMSTREAM_TRY(Run(fmt::format("DECLARE dimstream_cursor NO SCROLL CURSOR FOR {}", sql), params, what));
  const std::string fetch = fmt::format("FETCH FORWARD {} FROM dimstream_cursor", batch);
  for (;;) {
    auto rows = Exec(fetch, {}, what);
    if (!rows.ok()) {
      return rows.error();
    }
    if (rows->rows() > 0) {
      sink(*rows);
    }
    if (rows->rows() < batch) {
      break;
    }
  }
  return Run("CLOSE dimstream_cursor", {}, what);
}

Error PgConnection::Failure(const PgResult& r, std::string_view what) const {
  const std::string state = SqlStateOf(r);
  std::string message = r.get() != nullptr ? Trimmed(PQresultErrorMessage(r.get())) : "";
  if (message.empty()) {
    message = Trimmed(PQerrorMessage(conn_));
  }
  const ErrorKind kind = broken() || state.empty() ? ErrorKind::kRetryable : KindOfSqlState(state);
  return Error{kind, fmt::format("cannot {} on {}: {}{}", what, where_, message,
                                 state.empty() ? "" : " (SQLSTATE " + state + ")")};
}

Result<uint64_t> PgConnection::CopyEnded(std::string_view what) {
  uint64_t rows = 0;
  Status outcome = Ok();
  while (PGresult* raw = PQgetResult(conn_)) {
    PgResult r(raw);
    if (PQresultStatus(raw) == PGRES_COMMAND_OK) {
      rows = std::strtoull(PQcmdTuples(raw), nullptr, 10);
    } else if (outcome.ok()) {
      outcome = Failure(r, what);
    }
  }
  if (!outcome.ok()) {
    return outcome.error();
  }
  return rows;
}

Result<uint64_t> PgConnection::CopyIn(std::string_view copy_sql, std::string_view data,
                                      std::string_view what) {
  const std::string text(copy_sql);
  PgResult start(PQexec(conn_, text.c_str()));
  if (start.get() == nullptr || PQresultStatus(start.get()) != PGRES_COPY_IN) {
    return Failure(start, what);
  }
  const bool sent = data.empty() || PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) == 1;
  PQputCopyEnd(conn_, sent ? nullptr : "the data could not be sent");
  return CopyEnded(what);
}

Result<uint64_t> PgConnection::CopyOut(std::string_view copy_sql,
                                       const std::function<bool(std::string_view)>& sink,
                                       std::string_view what) {
  const std::string text(copy_sql);
  PgResult start(PQexec(conn_, text.c_str()));
  if (start.get() == nullptr || PQresultStatus(start.get()) != PGRES_COPY_OUT) {
    return Failure(start, what);
  }
  bool kept = true;
  char* buffer = nullptr;
  int n = 0;
  while ((n = PQgetCopyData(conn_, &buffer, 0)) > 0) {
    kept = kept && sink(std::string_view(buffer, static_cast<size_t>(n)));
    PQfreemem(buffer);
  }
  auto rows = CopyEnded(what);
  if (rows.ok() && !kept) {
    return Error::Permanent(fmt::format("cannot {}: the data could not be written", what));
  }
  return rows;
}

}  // namespace dimstream::pg
