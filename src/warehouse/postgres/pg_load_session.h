#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "config/entity.h"
#include "warehouse/postgres/pg_connection.h"
#include "warehouse/postgres/pg_load_ledger.h"
#include "warehouse/warehouse.h"

// The load path of the PostgreSQL adapter: an entity's raw and rejects tables, and one load's transaction.
namespace dimstream::pg {

// The table of the loaded rows, `<entity>_raw_rows`: every row a committed load brought, until the merge run
// that merges it removes it. `<entity>_raw` is a view of it (pg_merge_log.h): the rows above the watermark,
// with the columns SEMANTICS.md section 7 names.
std::string RawRowsTable(const EntitySpec& entity);

// Creates `<entity>_raw_rows` and `<entity>_rejects` when they are not there. The rows table holds the input
// columns typed (PgTypeName), then _load_ref (the load's, load_history's; its load id, and so its rows'
// arrival positions, come with its commit: pg_load_ledger.h), _line, _op ('U', 'D', 'T'), _kid (the key id's
// 64 bits as a BIGINT; NULL for a truncate), _seq_key (the sequence's ordered encoding; NULL when the load's
// commit time is the sequence), _scd1_hash and _scd2_hash (BIGINT bits). Rejects: object_key, line, raw,
// reason, _load_ref, rejected_at.
Status EnsureLoadTables(PgConnection& conn, const EntitySpec& entity);

// One load's transaction on `conn`, which it uses alone until it commits or is destroyed (then rolled back).
// Rows and rejects go in by COPY, batch by batch.
class PgLoadSession : public LoadSession {
 public:
  // Begins the transaction. `entity` null: the object matched no entity, and only a failure is recorded.
  static Result<std::unique_ptr<PgLoadSession>> Begin(PgConnection& conn, const EntitySpec* entity,
                                                      const ObjectInfo& object);
  ~PgLoadSession() override;

  Status AppendRows(const RawRows& rows) override;
  Status AppendRejects(const std::vector<RejectedRow>& rejects) override;
  Status DiscardRows() override;
  Result<LoadReceipt> Commit(const LoadSummary& summary) override;

 private:
  PgLoadSession(PgConnection& conn, const EntitySpec* entity, ObjectInfo object, int64_t load_ref)
      : conn_(conn), entity_(entity), object_(std::move(object)), load_ref_(load_ref) {}

  PgConnection& conn_;
  const EntitySpec* entity_;
  ObjectInfo object_;
  int64_t load_ref_;
  bool open_ = true;
};

}  // namespace dimstream::pg
