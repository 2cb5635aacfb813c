#include "warehouse/duckdb/raw_append.h"

namespace dimstream::duck {
namespace {

// Writes row `row` of `column` into chunk column `col`.
void PutValue(ChunkAppender& app, idx_t col, const TypedColumn& column, size_t row) {
  if (!column.valid[row]) {
    app.Null(col);
    return;
  }
  switch (column.type.kind) {
    case TypeKind::kText:
      app.Text(col, column.texts[row]);
      break;
    case TypeKind::kBigint:
    case TypeKind::kTimestamp:
      app.Int64(col, column.ints[row]);
      break;
    case TypeKind::kDouble:
      app.Double(col, column.doubles[row]);
      break;
    case TypeKind::kDecimal:
      app.Decimal(col, column.type.IsWideDecimal() ? 0 : column.ints[row],
                  column.type.IsWideDecimal() ? column.wides[row] : 0);
      break;
    case TypeKind::kBoolean:
      app.Bool(col, column.ints[row] != 0);
      break;
    case TypeKind::kDate:
      app.Date(col, static_cast<int32_t>(column.ints[row]));
      break;
  }
}

char OpChar(Operation op) {
  return static_cast<char>(op);
}

}  // namespace

Status AppendRaw(Connection& conn, const EntityTables& tables, const LoadRequest& request,
                 const LoadStamp& stamp) {
  const EntitySpec& e = tables.e;
  const RawRows& rows = request.rows;
  ChunkAppender raw(conn, e.raw_table());
  DIMSTREAM_TRY(raw.status());
  const size_t inputs = rows.columns.size();
  if (raw.column_count() != inputs + 11) {
    return Error::Permanent("the raw table " + tables.raw + " does not have the columns this version writes");
  }
  // _seq: the first sequence column, or the load's commit time when the file has no sequence columns.
  const size_t first_seq = e.key_columns.size() + e.attribute_columns().size();
  const std::string fallback_key = OrderedTimestamp(stamp.sequence_time);
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t c = 0; c < inputs; ++c) {
      PutValue(raw, c, rows.columns[c], i);
    }
    idx_t m = inputs;
    raw.Text(m++, request.object.key.get());
    raw.Int64(m++, static_cast<int64_t>(rows.line[i]));
    raw.Int64(m++, stamp.arrival_base + static_cast<int64_t>(rows.line[i]));
    raw.Int64(m++, stamp.load_id);
    raw.Time(m++, stamp.loaded_at);
    if (rows.has_sequence && !e.sequence_columns.empty()) {
      PutValue(raw, m++, rows.columns[first_seq], i);
      raw.Text(m++, rows.SeqKey(i));
    } else {
      raw.Time(m++, stamp.sequence_time);
      raw.Text(m++, fallback_key);
    }
    if (rows.op[i] == Operation::kTruncate) {
      raw.Null(m++);
    } else {
      raw.UInt64(m++, rows.key_id[i]);
    }
    char op = OpChar(rows.op[i]);
    raw.Text(m++, std::string_view(&op, 1));
    raw.UInt64(m++, rows.scd1_hash[i]);
    raw.UInt64(m++, rows.scd2_hash[i]);
    raw.EndRow();
  }
  return raw.Close();
}

Status AppendRejects(Connection& conn, const EntityTables& tables, const LoadRequest& request,
                     const LoadStamp& stamp) {
  Appender rejects(conn, tables.e.rejects_table());
  for (const RejectedRow& r : request.rejects) {
    rejects.Text(request.object.key.get());
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
