#include "merge/fold.h"

#include <algorithm>

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

// Records of one key ordered by (sequence, arrival): a later arrival with the same sequence supersedes
// record i, which then leaves no trace.
template <typename Record>
bool Superseded(const std::vector<Record>& records, size_t i) {
  return i + 1 < records.size() && records[i + 1].seq == records[i].seq;
}

// Ends the open version at `at` and appends it to the key's versions.
void Close(std::optional<Version>& current, Micros at, bool by_delete, std::vector<Version>& out) {
  current->valid_to = at;
  current->ended_by_delete = by_delete;
  out.push_back(std::move(*current));
  current.reset();
}

void SetHashes(std::vector<Version>& out, size_t start, size_t scd1_count) {
  for (size_t i = start; i < out.size(); ++i) {
    out[i].scd1_hash = Hash(out[i].attributes, 0, scd1_count);
    out[i].scd2_hash = Hash(out[i].attributes, scd1_count, out[i].attributes.size());
  }
}

}  // namespace

void FoldKey(const std::vector<LogRecord>& records, size_t scd1_count, std::vector<Version>& out) {
  size_t start = out.size();
  std::optional<Version> current;
  for (size_t i = 0; i < records.size(); ++i) {
    if (Superseded(records, i)) {
      continue;
    }
    const LogRecord& r = records[i];
    if (r.is_delete) {
      if (current) {
        Close(current, r.seq, true, out);
      }
      continue;
    }
    if (current && Scd2Differs(current->attributes, r.attributes, scd1_count)) {
      Close(current, r.seq, false, out);
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
  SetHashes(out, start, scd1_count);
}

FoldStep FoldOnto(int64_t key, const KeyState* state, const std::vector<StagedRecord>& records,
                  std::vector<Version>& out) {
  FoldStep step;
  size_t start = out.size();
  // The version open before the run stays "untouched" until a record either closes it as it was or
  // rewrites it in place; from then on it is `current`, like a version opened in this run.
  bool untouched = state != nullptr && state->open();
  std::optional<Version> current;
  for (size_t i = 0; i < records.size(); ++i) {
    if (Superseded(records, i)) {
      continue;
    }
    const StagedRecord& r = records[i];
    if (untouched && (r.is_delete || r.scd2_hash != state->scd2_hash)) {
      step.closed = VersionClose{key, state->open_from, r.seq, r.is_delete};
      untouched = false;
    } else if (untouched) {
      // SCD1 in place on the version open before: its valid_from and opener, the record's values.
      current = Version{key, {}, state->open_from, std::nullopt, false, state->opened_arrival, r.arrival};
      current->scd2_hash = state->scd2_hash;
      step.rewrote_open = true;
      untouched = false;
    } else if (current && (r.is_delete || r.scd2_hash != current->scd2_hash)) {
      Close(current, r.seq, r.is_delete, out);
    } else if (current) {
      current->updated_arrival = r.arrival;
    }
    if (!current && !r.is_delete) {
      current = Version{key, {}, r.seq, std::nullopt, false, r.arrival, r.arrival};
      current->scd2_hash = r.scd2_hash;
    }
    if (current) {
      current->scd1_hash = r.scd1_hash;
    }
  }
  if (current) {
    out.push_back(std::move(*current));
  }
  Micros last_seq = records.empty() ? INT64_MIN : records.back().seq;
  if (state != nullptr) {
    last_seq = std::max(last_seq, state->last_seq);
  }
  if (untouched) {
    step.next = *state;
    step.next.last_seq = last_seq;
  } else {
    step.next = StateAfter(std::span<const Version>(out).subspan(start), last_seq);
  }
  return step;
}

KeyState StateAfter(std::span<const Version> versions, Micros last_seq) {
  KeyState s;
  s.last_seq = last_seq;
  if (!versions.empty() && !versions.back().valid_to) {
    const Version& v = versions.back();
    s.open_from = v.valid_from;
    s.opened_arrival = v.opened_arrival;
    s.scd1_hash = v.scd1_hash;
    s.scd2_hash = v.scd2_hash;
  }
  return s;
}

}  // namespace dimstream
