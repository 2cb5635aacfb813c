#include "warehouse/postgres/pg_load_session.h"

#include <fmt/format.h>

#include "warehouse/postgres/pg_values.h"
#include "warehouse/sql.h"

namespace dimstream::pg {
namespace {

std::string InputColumns(const EntitySpec& entity) {
  std::string out;
  for (const std::string& c : entity.input_columns()) {
    out += QuoteIdent(c) + ", ";
  }
  return out;
}

}  // namespace

std::string RawRowsTable(const EntitySpec& entity) {
  return entity.name + "_raw_rows";
}

Status EnsureLoadTables(PgConnection& conn, const EntitySpec& entity) {
  std::string columns;
  for (const std::string& c : entity.input_columns()) {
    columns += fmt::format("{} {}, ", QuoteIdent(c), PgTypeName(entity.TypeOf(c)));
  }
  DIMSTREAM_TRY(conn.Run(
      fmt::format(
          "CREATE TABLE IF NOT EXISTS {} ({}_load_ref BIGINT NOT NULL, _line BIGINT NOT NULL, _op CHAR(1) "
          "NOT NULL, _kid BIGINT, _seq_key BYTEA, _scd1_hash BIGINT, _scd2_hash BIGINT)",
          QuoteIdent(RawRowsTable(entity)), columns),
      {}, "create " + RawRowsTable(entity)));
  DIMSTREAM_TRY(
      conn.Run(fmt::format("CREATE INDEX IF NOT EXISTS {} ON {} (_load_ref)",
                           QuoteIdent(RawRowsTable(entity) + "_load_ref"), QuoteIdent(RawRowsTable(entity))),
               {}, "index " + RawRowsTable(entity)));
  return conn.Run(fmt::format("CREATE TABLE IF NOT EXISTS {} (object_key TEXT, line BIGINT, raw TEXT, reason "
                              "TEXT, _load_ref BIGINT, rejected_at TIMESTAMP)",
                              QuoteIdent(entity.rejects_table())),
                  {}, "create " + entity.rejects_table());
}

Result<std::unique_ptr<PgLoadSession>> PgLoadSession::Begin(PgConnection& conn, const EntitySpec* entity,
                                                            const ObjectInfo& object) {
  auto ref = BeginLoadTransaction(conn);
  if (!ref.ok()) {
    return ref.error();
  }
  return std::unique_ptr<PgLoadSession>(new PgLoadSession(conn, entity, object, *ref));
}

PgLoadSession::~PgLoadSession() {
  if (open_) {
    (void)conn_.Run("ROLLBACK");
  }
}

Status PgLoadSession::AppendRows(const RawRows& rows) {
  if (entity_ == nullptr) {
    return Error::Permanent(
        fmt::format("{} matched no entity: it has no raw table to load rows into", object_.key.get()));
  }
  if (rows.size() == 0) {
    return Ok();
  }
  const std::string ref = std::to_string(load_ref_);
  std::string data;
  data.reserve(rows.size() * 128);
  for (size_t r = 0; r < rows.size(); ++r) {
    for (const TypedColumn& column : rows.columns) {
      AppendCopyValue(data, column, r);
      data += '\t';
    }
    data += ref;
    data += fmt::format("\t{}\t{}\t", rows.line[r], static_cast<char>(rows.op[r]));
    if (rows.op[r] == Operation::kTruncate) {
      data += "\\N";
    } else {
      data += std::to_string(static_cast<int64_t>(rows.key_id[r]));
    }
    data += '\t';
    if (rows.has_sequence) {
      AppendCopyBytea(data, rows.SeqKey(r));
    } else {
      data += "\\N";
    }
    data += fmt::format("\t{}\t{}\n", static_cast<int64_t>(rows.scd1_hash[r]),
                        static_cast<int64_t>(rows.scd2_hash[r]));
  }
  auto copied =
      conn_.CopyIn(fmt::format("COPY {} ({}_load_ref, _line, _op, _kid, _seq_key, _scd1_hash, _scd2_hash) "
                               "FROM STDIN",
                               QuoteIdent(RawRowsTable(*entity_)), InputColumns(*entity_)),
                   data, fmt::format("copy the rows of {}", object_.key.get()));
  if (!copied.ok()) {
    return copied.error();
  }
  return Ok();
}

Status PgLoadSession::AppendRejects(const std::vector<RejectedRow>& rejects) {
  if (entity_ == nullptr || rejects.empty()) {
    return Ok();
  }
  std::string data;
  for (const RejectedRow& r : rejects) {
    AppendCopyText(data, object_.key.get());
    data += fmt::format("\t{}\t", r.line);
    AppendCopyText(data, r.raw);
    data += '\t';
    AppendCopyText(data, r.reason);
    data += fmt::format("\t{}\n", load_ref_);
  }
  auto copied = conn_.CopyIn(fmt::format("COPY {} (object_key, line, raw, reason, _load_ref) FROM STDIN",
                                         QuoteIdent(entity_->rejects_table())),
                             data, fmt::format("copy the rejects of {}", object_.key.get()));
  if (!copied.ok()) {
    return copied.error();
  }
  return Ok();
}

Status PgLoadSession::DiscardRows() {
  if (entity_ == nullptr) {
    return Ok();
  }
  return conn_.Run(fmt::format("DELETE FROM {} WHERE _load_ref = $1", QuoteIdent(RawRowsTable(*entity_))),
                   {std::to_string(load_ref_)}, fmt::format("discard the rows of {}", object_.key.get()));
}

Result<LoadReceipt> PgLoadSession::Commit(const LoadSummary& summary) {
  LoadRecord record{object_, entity_ == nullptr ? std::string() : entity_->name, summary};
  open_ = false;  // committed or rolled back by the ledger, whatever happens
  if (summary.failed && entity_ != nullptr) {
    // A failed object keeps no rows (its rejects stay).
    Status discarded = DiscardRows();
    if (!discarded.ok()) {
      (void)conn_.Run("ROLLBACK");
      return discarded.error();
    }
  }
  return CommitLoadRecord(conn_, load_ref_, record);
}

}  // namespace dimstream::pg
