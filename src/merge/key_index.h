#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/error.h"

namespace dimstream {

// What the merge needs to know of one key id to apply records newer than all of its retained ones without
// reading its log or its versions: a floor of its newest sequence, and its open version's identity and
// hashes.
//
// A key id is the key itself for one bigint key column, else a 64-bit hash of the key, which two keys may
// share. The index holds one state per key id, and keeps this invariant for every key id: last_seq is at
// least the newest sequence of every key with that id; when a version is open, it belongs to exactly one of
// those keys and the others have none open; when none is open, none of them has one. A key that takes the
// incremental path under a state that is not its own therefore either does what is right for it anyway (no
// version open) or edits a version that is not its own, which the warehouse refuses by its key columns
// (MergeSession::ApplyIncrement): then the key id is marked colliding, and from then on its keys are always
// refolded from their log, which is exact.
struct KeyState {
  uint64_t last_seq = 0;       // OrderedFloor of the newest sequence among the key id's log records
  uint64_t open_from = 0;      // OrderedFloor of the open version's valid_from (exact for compact sequences)
  int64_t opened_arrival = 0;  // the open version's opener (its identity); 0: no version is open
  uint64_t scd1_hash = 0;      // of the open version (to count SCD1 updates)
  uint64_t scd2_hash = 0;      // of the open version (to see an SCD2 change)

  bool open() const { return opened_arrival != 0; }
  bool operator==(const KeyState&) const = default;
};

// The merge's in-memory index: key id -> KeyState for every key id in the log, in one open-addressing table
// (linear probing, 48 bytes a slot, at most 7/8 full; any number of slots, a key id's first one by the
// multiply-shift of its hash, so that the table grows by half rather than doubling: 55-82 bytes a key,
// whatever the number of keys), so that the lookups of a run of 100,000 records cost microseconds; plus the
// set of key ids known to be shared by several keys. Not thread-safe: the merge task's.
class KeyIndex {
 public:
  // nullptr when the key id is not in the index.
  const KeyState* Find(uint64_t key_id) const;
  // Starts fetching the key id's first slot into the cache, for a Find soon after: a slot of a large table
  // is a cache miss and usually a TLB miss, which a loop can overlap by asking a few keys ahead.
  void Prefetch(uint64_t key_id) const {
    if (!slots_.empty()) {
      __builtin_prefetch(&slots_[Home(key_id)]);
    }
  }
  void Put(uint64_t key_id, const KeyState& state);
  // The same for many, faster (Warm reads millions).
  void PutMany(std::span<const std::pair<uint64_t, KeyState>> entries);
  // Makes room for `keys` key ids without growing on the way (Warm knows the count up front).
  void Reserve(size_t keys);
  void Clear();
  // Every state: no open version (a truncate closed them all).
  void CloseAll();

  // Key ids shared by several keys: the merge refolds their keys from the log instead of trusting a state.
  void MarkColliding(uint64_t key_id) { colliding_.insert(key_id); }
  bool IsColliding(uint64_t key_id) const { return !colliding_.empty() && colliding_.count(key_id) > 0; }
  const std::unordered_set<uint64_t>& colliding() const { return colliding_; }

  // The largest last_seq ever put: a floor of every key's newest sequence.
  uint64_t max_last_seq() const { return max_last_seq_; }
  size_t size() const { return size_; }
  template <typename F>
  void ForEach(F&& f) const {
    for (const Slot& s : slots_) {
      if (s.used()) {
        f(s.key_id, s.state);
      }
    }
  }
  // A snapshot of the index in a file, tagged with the merge watermark and log horizon it is valid for:
  // written when the merge is idle, read at start instead of scanning the warehouse. Written to a
  // temporary name and renamed, so a crash leaves the old snapshot or the new one.
  struct SnapshotTag {
    int64_t watermark = 0;
    int64_t horizon = INT64_MIN;  // INT64_MIN: the log was never compacted
  };
  Status Save(const std::filesystem::path& path, SnapshotTag tag) const;
  // The snapshot's tag, with the index holding its entries; nullopt, with the index empty, when the file is
  // missing, cut or not a snapshot.
  Result<std::optional<SnapshotTag>> Load(const std::filesystem::path& path);

  // Bytes held, for memory per key.
  uint64_t Bytes() const;

 private:
  // A slot is free while its opened_arrival is negative: arrivals are never negative.
  struct Slot {
    uint64_t key_id = 0;
    KeyState state{0, 0, -1, 0, 0};
    bool used() const { return state.opened_arrival >= 0; }
  };
  size_t SlotOf(uint64_t key_id) const;
  // The first slot a key id probes.
  size_t Home(uint64_t key_id) const;
  // Put, with room for the key id already made.
  void Place(uint64_t key_id, const KeyState& state);
  void Grow(size_t capacity);

  std::vector<Slot> slots_;
  size_t size_ = 0;
  uint64_t max_last_seq_ = 0;
  std::unordered_set<uint64_t> colliding_;
};

}  // namespace dimstream
