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

}  // namespace dimstream
