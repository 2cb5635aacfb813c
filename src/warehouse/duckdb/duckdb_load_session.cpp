#include "warehouse/duckdb/duckdb_load_session.h"

#include <fmt/format.h>

#include "common/clock.h"
#include "common/fault.h"
#include "warehouse/duckdb/raw_append.h"
#include "warehouse/sql.h"

namespace dimstream::duck {
namespace {

constexpr const char* kLoadHistory = "load_history";

class DuckLoadSession : public LoadSession {
 public:
  DuckLoadSession(Connected c, DatabaseKeeper& keeper, std::unique_lock<std::mutex> lock,
                  const EntityTables* tables, ObjectInfo object)
      : c_(std::move(c)),
        keeper_(keeper),
        lock_(std::move(lock)),
        tables_(tables),
        object_(std::move(object)) {}

  ~DuckLoadSession() override {
    if (open_) {
      (void)c_.conn->Exec("ROLLBACK");
    }
  }

  Status Begin() {
    DIMSTREAM_TRY(c_.conn->Exec("BEGIN TRANSACTION"));
    open_ = true;
    QueryResultHandle last;
    DIMSTREAM_TRY(Checked(c_.conn->Run(
        fmt::format("SELECT coalesce(max(load_id), 0), coalesce(epoch_us(max(sequence_time)), 0) FROM {}",
                    QuoteIdent(kLoadHistory)),
        {}, &last)));
    int64_t load_id = 0;
    Micros last_sequence = 0;
    ChunkReader reader(last.get());
    reader.ForEach([&](idx_t row) {
      load_id = reader.GetInt64(0, row) + 1;
      last_sequence = reader.GetInt64(1, row);
    });
    Micros now = NowMicros();
    // The sequence of a file without event time: its load's commit order, as a time that never goes back.
    // Arrival position: the load's place in commit order, then the line (SEMANTICS.md section 4).
    stamp_ = LoadStamp{load_id, load_id << 32, now, std::max(now, last_sequence + 1)};
    return Ok();
  }

  Status AppendRows(const RawRows& rows) override {
    if (tables_ == nullptr) {
      return Error::Invalid("an object of no entity has no rows to load");
    }
    return Checked(AppendRaw(*c_.conn, *tables_, object_.key.get(), rows, stamp_));
  }

  Status AppendRejects(const std::vector<RejectedRow>& rejects) override {
    if (tables_ == nullptr) {
      return Error::Invalid("an object of no entity has no rejects to load");
    }
    return Checked(duck::AppendRejects(*c_.conn, *tables_, object_.key.get(), rejects, stamp_));
  }

  Status DiscardRows() override {
    if (tables_ == nullptr) {
      return Ok();
    }
    return Checked(
        c_.conn->Run(fmt::format("DELETE FROM {} WHERE \"_load_id\" = $1", tables_->log), {stamp_.load_id}));
  }

  Result<LoadReceipt> Commit(const LoadSummary& s) override {
    auto seen =
        c_.conn->ScalarInt(fmt::format("SELECT count(*) FROM {} WHERE object_key = $1 AND checksum = $2",
                                       QuoteIdent(kLoadHistory)),
                           {object_.key.get(), s.checksum.get()});
    if (!seen.ok()) {
      return Failed(seen.error());
    }
    if (seen->value_or(0) > 0) {
      (void)c_.conn->Exec("ROLLBACK");
      open_ = false;
      return LoadReceipt{LoadOutcome::kAlreadyDone, 0};
    }
    Status insert = c_.conn->Run(
        fmt::format(
            "INSERT INTO {} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            QuoteIdent(kLoadHistory)),
        {stamp_.load_id, object_.key.get(), s.checksum.get(), object_.version_tag,
         static_cast<int64_t>(s.size), std::string(s.failed ? "failed" : "loaded"),
         static_cast<int64_t>(s.failed ? 0 : s.rows), static_cast<int64_t>(s.rejects),
         s.error.empty() ? Param{} : Param{s.error}, Timestamp{stamp_.loaded_at},
         Timestamp{stamp_.sequence_time}, tables_ == nullptr ? Param{} : Param{tables_->e.name},
         static_cast<int64_t>(s.ignored_columns), s.format.empty() ? Param{} : Param{s.format},
         static_cast<int64_t>(s.uncompressed_size)});
    if (!insert.ok()) {
      return Failed(insert.error());
    }
    FaultPoint("load.before_commit");
    Status commit = keeper_.Commit(*c_.conn, *c_.db);
    open_ = false;
    if (!commit.ok()) {
      return commit.error();
    }
    FaultPoint("load.after_commit");
    return LoadReceipt{s.failed ? LoadOutcome::kFailed : LoadOutcome::kLoaded, stamp_.load_id};
  }

 private:
  // A failed statement may leave the instance unusable: it is then retired, and the next load opens a
  // fresh one.
  Status Checked(Status st) {
    if (!st.ok() && LeavesInstanceUnusable(st.error().message)) {
      keeper_.Retire(*c_.db, st.error().message);
    }
    return st;
  }
  Error Failed(const Error& error) {
    (void)Checked(error);
    return error;
  }

  Connected c_;
  DatabaseKeeper& keeper_;
  std::unique_lock<std::mutex> lock_;
  const EntityTables* tables_;
  ObjectInfo object_;
  LoadStamp stamp_;
  bool open_ = false;
};

}  // namespace

Result<std::unique_ptr<LoadSession>> NewLoadSession(Connected c, DatabaseKeeper& keeper,
                                                    std::unique_lock<std::mutex> lock,
                                                    const EntityTables* tables, const ObjectInfo& object) {
  auto session = std::make_unique<DuckLoadSession>(std::move(c), keeper, std::move(lock), tables, object);
  DIMSTREAM_TRY(session->Begin());
  return std::unique_ptr<LoadSession>(std::move(session));
}

}  // namespace dimstream::duck
