#include "warehouse/load_request.h"

namespace dimstream {

void TypedColumn::Append(const Datum& d) {
  valid.push_back(1);
  switch (type.kind) {
    case TypeKind::kText:
      texts.push_back(d.text);
      break;
    case TypeKind::kDouble:
      doubles.push_back(d.d);
      break;
    case TypeKind::kDecimal:
      if (type.IsWideDecimal()) {
        wides.push_back(d.wide);
      } else {
        ints.push_back(d.i);
      }
      break;
    case TypeKind::kBigint:
    case TypeKind::kBoolean:
    case TypeKind::kDate:
    case TypeKind::kTimestamp:
      ints.push_back(d.i);
      break;
  }
}

void TypedColumn::AppendNull() {
  Datum zero;
  Append(zero);
  valid.back() = 0;
}

std::string_view RawRows::SeqKey(size_t row) const {
  uint64_t begin = row == 0 ? 0 : seq_key_end[row - 1];
  return std::string_view(seq_keys).substr(begin, seq_key_end[row] - begin);
}

void RawRows::Clear() {
  for (TypedColumn& c : columns) {
    c.valid.clear();
    c.ints.clear();
    c.wides.clear();
    c.doubles.clear();
    c.texts.clear();
  }
  op.clear();
  line.clear();
  key_id.clear();
  seq_keys.clear();
  seq_key_end.clear();
  scd1_hash.clear();
  scd2_hash.clear();
}

}  // namespace dimstream
