#include "warehouse/postgres/pg_warehouse.h"

#include <fmt/format.h>

#include "warehouse/postgres/pg_export.h"
#include "warehouse/postgres/pg_leases.h"
#include "warehouse/postgres/pg_load_ledger.h"
#include "warehouse/postgres/pg_load_session.h"
#include "warehouse/postgres/pg_merge_log.h"
#include "warehouse/postgres/pg_merge_session.h"
#include "warehouse/postgres/pg_result_text.h"
#include "warehouse/sql.h"

namespace dimstream {
namespace {

constexpr const char* kLoadHistory = "load_history";

// A load's session and the pooled connection it runs on: the connection goes back to the pool only once the
// session has ended (committed, or rolled back by its destructor).
class PooledLoadSession : public LoadSession {
 public:
  PooledLoadSession(pg::PgPool::Lease conn, std::unique_ptr<pg::PgLoadSession> session)
      : conn_(std::move(conn)), session_(std::move(session)) {}

  Status AppendRows(const RawRows& rows) override { return session_->AppendRows(rows); }
  Status AppendRejects(const std::vector<RejectedRow>& rejects) override {
    return session_->AppendRejects(rejects);
  }
  Status DiscardRows() override { return session_->DiscardRows(); }
  Result<LoadReceipt> Commit(const LoadSummary& summary) override { return session_->Commit(summary); }

 private:
  pg::PgPool::Lease conn_;  // declared first, so destroyed after the session that uses it
  std::unique_ptr<pg::PgLoadSession> session_;
};

// Runs a user's `sql` on `conn` and returns its (last statement's) rows as text.
Result<QueryResult> QueryAsText(pg::PgConnection& conn, const std::string& sql) {
  auto r = conn.ExecScript(sql, "run the query");
  if (!r.ok()) {
    return r.error();
  }
  return pg::AsText(*r);
}

constexpr const char* kReadingAllowed = "only SELECT, WITH, VALUES, TABLE and EXPLAIN statements are allowed";

// A read-only query's failure: what the read-only transaction or the extended protocol refused is the
// statement's fault (kInvalidInput), the rest as the server's SQLSTATE says.
Error ReadOnlyFailure(const Error& error) {
  const std::string state = pg::SqlStateOf(error);
  if (state == "25006") {  // read_only_sql_transaction
    return Error::Invalid(
        fmt::format("refused: the statement writes; {}: {}", kReadingAllowed, error.message));
  }
  if (state == "42601" && error.message.find("multiple commands") != std::string::npos) {
    return Error::Invalid(
        fmt::format("refused: several statements; {}, one at a time: {}", kReadingAllowed, error.message));
  }
  return error;
}

}  // namespace

Result<std::unique_ptr<PgWarehouse>> PgWarehouse::Open(const std::string& url, const std::string& password,
                                                       std::vector<EntitySpec> entities) {
  for (const auto& e : entities) {
    DIMSTREAM_TRY(e.Validate());
  }
  std::unique_ptr<PgWarehouse> w(new PgWarehouse(url, password, std::move(entities)));
  DIMSTREAM_TRY(w->CreateSchema());
  return w;
}

Result<QueryResult> PgWarehouse::QueryOnce(const std::string& url, const std::string& password,
                                           const std::string& sql) {
  auto conn = pg::PgConnection::Open(url, password);
  if (!conn.ok()) {
    return conn.error();
  }
  return QueryAsText(**conn, sql);
}

Status PgWarehouse::CreateSchema() {
  auto conn = pool_.Acquire();
  if (!conn.ok()) {
    return conn.error();
  }
  pg::PgConnection& c = **conn;
  // All of it in one transaction under the schema's lock: processes opening at once create it one by one.
  return pg::InSchemaTransaction(c, [&]() -> Status {
    DIMSTREAM_TRY(pg::CreateLedgerTables(c));
    DIMSTREAM_TRY(pg::CreateProcessTables(c));
    for (const EntitySpec& e : entities_) {
      DIMSTREAM_TRY(pg::EnsureLoadTables(c, e));
      DIMSTREAM_TRY(pg::EnsureMergeTables(c, e));
      DIMSTREAM_TRY(pg::EnsureVersionTables(c, e));
    }
    return Ok();
  });
}

const EntitySpec* PgWarehouse::Find(const std::string& name) const {
  for (const EntitySpec& e : entities_) {
    if (e.name == name) {
      return &e;
    }
  }
  return nullptr;
}

Result<bool> PgWarehouse::HasVersion(const ObjectKey& key, const std::string& version_tag) {
  return HasLoadWhere("version_tag", version_tag, key);
}

Result<bool> PgWarehouse::HasLoad(const ObjectKey& key, const Checksum& checksum) {
  return HasLoadWhere("checksum", checksum.get(), key);
}

Result<bool> PgWarehouse::HasLoadWhere(const char* column, const std::string& value, const ObjectKey& key) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) {
    return conn.error();
  }
  // Loaded or failed alike; a load another process has not committed yet is not seen.
  auto r = (*conn)->Exec(fmt::format("SELECT count(*) FROM {} WHERE object_key = $1 AND {} = $2",
                                     QuoteIdent(kLoadHistory), QuoteIdent(column)),
                         {key.get(), value}, "look up " + key.get() + " in load_history");
  if (!r.ok()) {
    return r.error();
  }
  return r->Int(0, 0) > 0;
}

Result<std::unique_ptr<LoadSession>> PgWarehouse::BeginLoad(const ObjectInfo& object,
                                                            const std::string& entity) {
  const EntitySpec* e = Find(entity);
  if (e == nullptr && !entity.empty()) {
    return Error::Invalid("no entity '" + entity + "' in this warehouse");
  }
  auto conn = pool_.Acquire();
  if (!conn.ok()) {
    return conn.error().Context("cannot load " + object.key.get());
  }
  auto session = pg::PgLoadSession::Begin(**conn, e, object);
  if (!session.ok()) {
    return session.error().Context("cannot load " + object.key.get());
  }
  return std::unique_ptr<LoadSession>(new PooledLoadSession(std::move(*conn), std::move(*session)));
}

Result<std::unique_ptr<MergeSession>> PgWarehouse::BeginMerge(const std::string& entity) {
  const EntitySpec* e = Find(entity);
  if (e == nullptr) {
    return Error::Invalid("no entity '" + entity + "' in this warehouse");
  }
  auto conn = pool_.Acquire();
  if (!conn.ok()) {
    return conn.error();
  }
  return pg::BeginPgMerge(std::move(*conn), *e);
}

Status PgWarehouse::RecordTask(const TaskRecord& task) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) {
    return conn.error();
  }
  return pg::InsertTask(**conn, task);  // a statement of its own: autocommit
}

Result<bool> PgWarehouse::HoldLease(const std::string& name, const std::string& holder,
                                    std::chrono::milliseconds ttl, std::string* previous) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) {
    return conn.error();
  }
  return pg::HoldLease(**conn, name, holder, ttl, previous);
}

Status PgWarehouse::ReleaseLease(const std::string& name, const std::string& holder) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) {
    return conn.error();
  }
  return pg::ReleaseLease(**conn, name, holder);
}

Status PgWarehouse::Beat(const ProcessBeat& beat) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) {
    return conn.error();
  }
  return pg::Beat(**conn, beat);
}

Result<QueryResult> PgWarehouse::Query(const std::string& sql) {
  auto conn = pool_.Acquire();
  if (!conn.ok()) {
    return conn.error();
  }
  auto r = QueryAsText(**conn, sql);
  // What the text set (SET, temporary tables, prepared statements) must not follow the connection into the
  // loads and merge runs that take it next. One left inside a transaction is dropped by the pool instead.
  if (PQtransactionStatus((*conn)->raw()) == PQTRANS_IDLE) {
    (void)(*conn)->Run("DISCARD ALL", {}, "reset the connection");
  }
  return r;
}

Result<QueryResult> PgWarehouse::QueryReadOnly(const std::string& sql) {
  const std::string keyword = FirstKeyword(sql);
  if (!IsReadingKeyword(keyword)) {
    return Error::Invalid(keyword.empty()
                              ? fmt::format("refused: no keyword begins the statement; {}", kReadingAllowed)
                              : fmt::format("refused: {} statement; {}", keyword, kReadingAllowed));
  }
  auto conn = pg::PgConnection::Open(pool_.url(), pool_.password());
  if (!conn.ok()) {
    return conn.error();
  }
  pg::PgConnection& c = **conn;
  DIMSTREAM_TRY(c.Run("BEGIN READ ONLY", {}, "begin the read-only query's transaction"));
  auto r = c.Exec(sql, {}, "run the query");
  if (!r.ok()) {
    return ReadOnlyFailure(r.error());  // the connection, closed, takes the aborted transaction with it
  }
  QueryResult out = pg::AsText(*r);
  DIMSTREAM_TRY(c.Run("ROLLBACK", {}, "roll the read-only query back"));
  return out;
}

Result<ExportReceipt> PgWarehouse::Export(const ExportRequest& request) {
  // A connection of its own: an export of a large table holds it for a while, and loads and merge runs
  // go on with the pool's.
  auto conn = pg::PgConnection::Open(pool_.url(), pool_.password());
  if (!conn.ok()) {
    return conn.error();
  }
  return pg::ExportSnapshot(**conn, request);
}

std::string PgWarehouse::Describe() const {
  return "PostgreSQL " + pool_.url();
}

}  // namespace dimstream
