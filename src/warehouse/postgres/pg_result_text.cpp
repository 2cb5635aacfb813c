#include "warehouse/postgres/pg_result_text.h"

namespace dimstream::pg {
namespace {

// How JSON output writes a column, from its type's OID (PostgreSQL's fixed ones, pg_type.dat).
ColumnKind KindOf(Oid type) {
  switch (type) {
    case 16:  // bool
      return ColumnKind::kBoolean;
    case 20:    // int8
    case 21:    // int2
    case 23:    // int4
    case 26:    // oid
    case 700:   // float4
    case 701:   // float8
    case 1700:  // numeric
      return ColumnKind::kNumber;
    default:
      return ColumnKind::kText;
  }
}

}  // namespace

QueryResult AsText(const PgResult& r) {
  QueryResult out;
  for (int c = 0; c < r.columns(); ++c) {
    out.columns.emplace_back(r.Name(c));
    out.kinds.push_back(KindOf(PQftype(r.get(), c)));
  }
  out.rows.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    std::vector<Value> row;
    row.reserve(out.columns.size());
    for (int c = 0; c < r.columns(); ++c) {
      if (r.IsNull(i, c)) {
        row.emplace_back(std::nullopt);
      } else if (out.kinds[c] == ColumnKind::kBoolean) {
        row.emplace_back(r.Text(i, c) == "t" ? "true" : "false");
      } else {
        row.emplace_back(std::string(r.Text(i, c)));
      }
    }
    out.rows.push_back(std::move(row));
  }
  return out;
}

}  // namespace dimstream::pg
