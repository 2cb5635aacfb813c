#include "merge/fold.h"

#include <algorithm>

#include "common/typed_value.h"

namespace dimstream {
namespace {

bool Before(const MergeRecord& a, const MergeRecord& b) {
  int c = a.seq.compare(b.seq);
  return c < 0 || (c == 0 && a.arrival < b.arrival);
}

// Calls f with each record of one key and each truncate, merged in (sequence, arrival) order, that no later
// arrival with the same sequence supersedes (SEMANTICS.md section 4).
template <typename F>
void ForEachEffective(std::span<const MergeRecord> records, const std::vector<MergeRecord>& truncates,
                      F&& f) {
  size_t i = 0;
  size_t j = 0;
  const MergeRecord* prev = nullptr;
  while (i < records.size() || j < truncates.size()) {
    const MergeRecord* cur = nullptr;
    if (j == truncates.size() || (i < records.size() && Before(records[i], truncates[j]))) {
      cur = &records[i++];
    } else {
      cur = &truncates[j++];
    }
    if (prev != nullptr && prev->seq != cur->seq) {
      f(*prev);
    }
    prev = cur;
  }
  if (prev != nullptr) {
    f(*prev);
  }
}

// The 8 bytes whose OrderedFloor is `floor`.
std::string FloorBytes(uint64_t floor) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>(floor & 0xFF);
    floor >>= 8;
  }
  return out;
}

Version Open(uint64_t key_id, uint32_t key_ord, const MergeRecord& r) {
  Version v;
  v.key_id = key_id;
  v.key_ord = key_ord;
  v.valid_from = r.seq;
  v.opened_arrival = r.arrival;
  v.updated_arrival = r.arrival;
  v.scd1_arrival = r.arrival;
  v.scd1_hash = r.scd1_hash;
  v.scd2_hash = r.scd2_hash;
  return v;
}

// SCD1 in place: `r` changes no SCD2 value of `v`.
void Touch(Version& v, const MergeRecord& r) {
  v.updated_arrival = r.arrival;
  v.scd1_arrival = r.arrival;
  v.scd1_hash = r.scd1_hash;
}

// Ends the open version with record `r` and appends it to the key's versions.
void Close(std::optional<Version>& current, const MergeRecord& r, bool by_delete, std::vector<Version>& out) {
  current->closed_arrival = r.arrival;
  current->valid_to = r.seq;
  current->ended_by_delete = by_delete;
  out.push_back(std::move(*current));
  current.reset();
}

// scd1_scope = all_versions: every version of the key carries its latest upsert's SCD1 values.
void SpreadLatest(std::vector<Version>& out, size_t start, const MergeRecord* latest) {
  if (latest == nullptr) {
    return;
  }
  for (size_t i = start; i < out.size(); ++i) {
    out[i].scd1_arrival = latest->arrival;
    out[i].scd1_hash = latest->scd1_hash;
  }
}

}  // namespace

void FoldKey(const std::vector<MergeRecord>& records, const std::vector<MergeRecord>& truncates,
             Scd1Scope scope, std::vector<Version>& out) {
  if (records.empty()) {
    return;
  }
  const uint64_t key_id = records.front().key_id;
  const uint32_t key_ord = records.front().key_ord;
  size_t start = out.size();
  std::optional<Version> current;
  const MergeRecord* latest = nullptr;
  ForEachEffective(records, truncates, [&](const MergeRecord& r) {
    if (r.op != Operation::kUpsert) {
      if (current) {
        Close(current, r, true, out);
      }
      return;
    }
    latest = &r;
    if (current && r.scd2_hash != current->scd2_hash) {
      Close(current, r, false, out);
    }
    if (!current) {
      current = Open(key_id, key_ord, r);
    } else {
      Touch(*current, r);
    }
  });
  if (current) {
    out.push_back(std::move(*current));
  }
  if (scope == Scd1Scope::kAllVersions) {
    SpreadLatest(out, start, latest);
  }
}

FoldStep FoldOnto(uint64_t key_id, const KeyState* state, std::span<const MergeRecord> records,
                  const std::vector<MergeRecord>& truncates, Scd1Scope scope, std::vector<Version>& out) {
  FoldStep step;
  size_t start = out.size();
  // The version open before the run stays "untouched" until a record either closes it as it was or
  // rewrites it in place; from then on it is `current`, like a version opened in this run.
  bool untouched = state != nullptr && state->open();
  const int64_t ref = records.empty() ? 0 : records.front().arrival;
  std::optional<Version> current;
  const MergeRecord* latest = nullptr;
  ForEachEffective(records, truncates, [&](const MergeRecord& r) {
    bool ends = r.op != Operation::kUpsert;
    if (untouched) {
      untouched = false;
      if (ends || r.scd2_hash != state->scd2_hash) {
        step.edit = OpenVersionEdit{key_id, state->opened_arrival, ref, r.arrival, ends};
      } else {
        // SCD1 in place on the version open before: its opener and valid_from, the record's values.
        current = Version{};
        current->key_id = key_id;
        current->opened_arrival = state->opened_arrival;
        current->valid_from = FloorBytes(state->open_from);
        current->scd2_hash = state->scd2_hash;
        Touch(*current, r);
        step.edit = OpenVersionEdit{key_id, state->opened_arrival, ref, 0, false};
        step.rewrote_open = true;
        latest = &r;
        return;
      }
    } else if (current) {
      if (ends) {
        Close(current, r, true, out);
        return;
      }
      if (r.scd2_hash != current->scd2_hash) {
        Close(current, r, false, out);
      } else {
        Touch(*current, r);
        latest = &r;
        return;
      }
    }
    if (!ends) {
      current = Open(key_id, 0, r);
      latest = &r;
    }
  });
  if (current) {
    out.push_back(std::move(*current));
  }
  if (scope == Scd1Scope::kAllVersions) {
    SpreadLatest(out, start, latest);
  }
  step.latest_upsert = latest != nullptr ? latest->arrival : 0;
  uint64_t last_seq = records.empty() ? 0 : OrderedFloor(records.back().seq);
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

KeyState StateAfter(std::span<const Version> versions, uint64_t last_seq) {
  KeyState s;
  s.last_seq = last_seq;
  if (!versions.empty() && versions.back().open()) {
    const Version& v = versions.back();
    s.opened_arrival = v.opened_arrival;
    s.open_from = OrderedFloor(v.valid_from);
    s.scd1_hash = v.scd1_hash;
    s.scd2_hash = v.scd2_hash;
  }
  return s;
}

}  // namespace dimstream
