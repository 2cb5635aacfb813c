#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "common/error.h"

#include "common/clock.h"

namespace dimstream {

// What the merge needs to know of one key to apply records newer than all of its retained ones without
// reading its log or its versions: the newest sequence, and the open version's identity and hashes.
struct KeyState {
  static constexpr Micros kNoVersion = INT64_MIN;

  Micros last_seq = INT64_MIN;         // the newest sequence among the key's log records
  Micros open_from = kNoVersion;       // valid_from of the open version; kNoVersion when none is open
  int64_t opened_arrival = 0;          // of the open version (kept when its SCD1 values are rewritten)
  uint64_t scd1_hash = 0;              // of the open version (to count SCD1 updates)
  uint64_t scd2_hash = 0;              // of the open version (to see an SCD2 change)

  bool open() const { return open_from != kNoVersion; }
  bool operator==(const KeyState&) const = default;
};

// The merge's in-memory index: key -> KeyState for every key in the log, in one open-addressing table
// (linear probing, 48 bytes a slot, at most 7/8 full), so that 10 million keys take about 0.8 GB at
// worst and the lookups of a run of 100,000 records cost microseconds. Not thread-safe: the merge task's.
class KeyIndex {
 public:
  // nullptr when the key is not in the index.
  const KeyState* Find(int64_t key) const;
  void Put(int64_t key, const KeyState& state);
  // Makes room for `keys` keys without growing on the way (Warm knows the count up front).
  void Reserve(size_t keys);
  void Clear();

  size_t size() const { return size_; }
  template <typename F>
  void ForEach(F&& f) const {
    for (const Slot& s : slots_) {
      if (s.used()) {
        f(s.key, s.state);
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
  uint64_t Bytes() const { return slots_.capacity() * sizeof(Slot); }

 private:
  // A slot is free while its last_seq is INT64_MIN: a key in the log always has a real sequence.
  struct Slot {
    int64_t key = 0;
    KeyState state;
    bool used() const { return state.last_seq != INT64_MIN; }
  };
  size_t SlotOf(int64_t key) const;
  void Grow(size_t capacity);

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace dimstream
