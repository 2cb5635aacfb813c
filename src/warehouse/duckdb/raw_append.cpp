#include "warehouse/duckdb/raw_append.h"

namespace dimstream::duck {
namespace {

// Writes row `row` of `column` into chunk column `col`.
void PutValue(ChunkAppender& app, idx_t col, const TypedColumn& column, size_t row) {
  if (!column.valid[row]) {
    app.Null(col);
    return;
  }
  Datum d;
  switch (column.type.kind) {
    case TypeKind::kText:
      d.text = column.texts[row];
      break;
    case TypeKind::kDouble:
      d.d = column.doubles[row];
      break;
    default:
      if (column.type.IsWideDecimal()) {
        d.wide = column.wides[row];
      } else {
        d.i = column.ints[row];
      }
  }
  app.Put(col, column.type, d);
}

char OpChar(Operation op) {
  return static_cast<char>(op);
}

}  // namespace

Status AppendRaw(Connection& conn, const EntityTables& tables, const std::string& object_key,
                 const RawRows& rows, const LoadStamp& stamp) {
  const EntitySpec& e = tables.e;
  ChunkAppender raw(conn, e.log_table());  // the raw view's rows (entity_tables.h)
  DIMSTREAM_TRY(raw.status());
  const size_t inputs = rows.columns.size();
  if (raw.column_count() != inputs + 9 + (tables.compact_seq ? 0 : 1) + (tables.exact_kid ? 0 : 1)) {
    return Error::Permanent("the log table " + tables.log + " does not have the columns this version writes");
  }
  // _seq: the first sequence column, or the load's commit time when the file has no sequence columns.
  const size_t first_seq = e.key_columns.size() + e.attribute_columns().size();
  const std::string fallback_key = OrderedTimestamp(stamp.sequence_time);
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t c = 0; c < inputs; ++c) {
      PutValue(raw, c, rows.columns[c], i);
    }
    idx_t m = inputs;
    raw.Text(m++, object_key);
    raw.Int64(m++, static_cast<int64_t>(rows.line[i]));
    raw.Int64(m++, stamp.arrival_base + static_cast<int64_t>(rows.line[i]));
    raw.Int64(m++, stamp.load_id);
    raw.Time(m++, stamp.loaded_at);
    bool own_sequence = rows.has_sequence && !e.sequence_columns.empty();
    if (own_sequence) {
      PutValue(raw, m++, rows.columns[first_seq], i);
    } else {
      raw.Time(m++, stamp.sequence_time);
    }
    if (!tables.compact_seq) {
      raw.Text(m++, own_sequence ? rows.SeqKey(i) : std::string_view(fallback_key));
    }
    if (!tables.exact_kid) {
      if (rows.op[i] == Operation::kTruncate) {
        raw.Null(m++);
      } else {
        raw.UInt64(m++, rows.key_id[i]);
      }
    }
    char op = OpChar(rows.op[i]);
    raw.Text(m++, std::string_view(&op, 1));
    raw.UInt64(m++, rows.scd1_hash[i]);
    raw.UInt64(m++, rows.scd2_hash[i]);
    raw.EndRow();
  }
  return raw.Close();
}

Status AppendRejects(Connection& conn, const EntityTables& tables, const std::string& object_key,
                     const std::vector<RejectedRow>& rows, const LoadStamp& stamp) {
  Appender rejects(conn, tables.e.rejects_table());
  for (const RejectedRow& r : rows) {
    rejects.Text(object_key);
    rejects.Int64(static_cast<int64_t>(r.line));
    rejects.Text(r.raw);
    rejects.Text(r.reason);
    rejects.Int64(stamp.load_id);
    rejects.Time(stamp.loaded_at);
    rejects.EndRow();
  }
  return rejects.Close();
}

}  // namespace dimstream::duck
