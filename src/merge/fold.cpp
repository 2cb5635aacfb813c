#include "merge/fold.h"

#include "common/attribute_hash.h"

namespace dimstream {
namespace {

uint64_t Hash(const std::vector<Value>& values, size_t from, size_t to) {
  AttributeHash hash;
  for (size_t i = from; i < to; ++i) {
    values[i] ? hash.Add(*values[i]) : hash.AddNull();
  }
  return hash.Digest();
}

bool Scd2Differs(const std::vector<Value>& a, const std::vector<Value>& b, size_t scd1_count) {
  // std::optional compares NULL equal to NULL and different from any value, as the contract says.
  return !std::equal(a.begin() + static_cast<std::ptrdiff_t>(scd1_count), a.end(),
                     b.begin() + static_cast<std::ptrdiff_t>(scd1_count));
}

}  // namespace

void FoldKey(const std::vector<LogRecord>& records, size_t scd1_count, std::vector<Version>& out) {
  size_t start = out.size();
  std::optional<Version> current;
  auto close = [&](Micros at, bool by_delete) {
    current->valid_to = at;
    current->ended_by_delete = by_delete;
    out.push_back(std::move(*current));
    current.reset();
  };
  for (size_t i = 0; i < records.size(); ++i) {
    const LogRecord& r = records[i];
    if (i + 1 < records.size() && records[i + 1].seq == r.seq) {
      continue;  // superseded by a later arrival with the same sequence
    }
    if (r.is_delete) {
      if (current) {
        close(r.seq, true);
      }
      continue;
    }
    if (current && Scd2Differs(current->attributes, r.attributes, scd1_count)) {
      close(r.seq, false);
    }
    if (!current) {
      current = Version{r.key, r.attributes, r.seq, std::nullopt, false, r.arrival, r.arrival};
    } else {
      current->attributes = r.attributes;  // SCD1 in place; the SCD2 attributes are equal
      current->updated_arrival = r.arrival;
    }
  }
  if (current) {
    out.push_back(std::move(*current));
  }
  for (size_t i = start; i < out.size(); ++i) {
    out[i].scd1_hash = Hash(out[i].attributes, 0, scd1_count);
    out[i].scd2_hash = Hash(out[i].attributes, scd1_count, out[i].attributes.size());
  }
}

}  // namespace dimstream
