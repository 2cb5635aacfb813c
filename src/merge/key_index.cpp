#include "merge/key_index.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <cstring>
#include <memory>

#include <sys/mman.h>

namespace dimstream {
namespace {

// A 64-bit finalizer (splitmix64's): customer ids are often dense, linear probing wants them spread.
uint64_t Mix(uint64_t key) {
  uint64_t x = key;
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// The most keys a table of `slots` slots holds, and the slots `keys` keys need.
size_t MaxKeys(size_t slots) {
  return slots / 8 * 7;
}
size_t SlotsFor(size_t keys) {
  return std::max<size_t>(keys / 7 * 8 + 8, 1024);
}

}  // namespace

size_t KeyIndex::Home(uint64_t key) const {
  // Multiply-shift (Lemire's range reduction): uniform over any table size, no power of two needed.
  __extension__ using Wide = unsigned __int128;
  return static_cast<size_t>((static_cast<Wide>(Mix(key)) * slots_.size()) >> 64);
}

size_t KeyIndex::SlotOf(uint64_t key) const {
  const size_t n = slots_.size();
  size_t i = Home(key);
  while (slots_[i].used() && slots_[i].key_id != key) {
    i = i + 1 == n ? 0 : i + 1;
  }
  return i;
}

const KeyState* KeyIndex::Find(uint64_t key) const {
  if (slots_.empty()) {
    return nullptr;
  }
  const Slot& s = slots_[SlotOf(key)];
  return s.used() ? &s.state : nullptr;
}

void KeyIndex::Put(uint64_t key, const KeyState& state) {
  assert(state.opened_arrival >= 0);
  if (size_ + 1 > MaxKeys(slots_.size())) {
    Grow(std::max(SlotsFor(size_ + 1), slots_.size() / 2 * 3));
  }
  Place(key, state);
}

void KeyIndex::PutMany(std::span<const std::pair<uint64_t, KeyState>> entries) {
  Reserve(size_ + entries.size());
  // A slot of a large table is a cache miss and usually a TLB miss: fetch a few entries ahead.
  constexpr size_t kAhead = 16;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i + kAhead < entries.size()) {
      __builtin_prefetch(&slots_[Home(entries[i + kAhead].first)], 1);
    }
    assert(entries[i].second.opened_arrival >= 0);
    Place(entries[i].first, entries[i].second);
  }
}

void KeyIndex::Place(uint64_t key, const KeyState& state) {
  Slot& s = slots_[SlotOf(key)];
  if (!s.used()) {
    s.key_id = key;
    ++size_;
  }
  s.state = state;
  max_last_seq_ = std::max(max_last_seq_, state.last_seq);
}

void KeyIndex::CloseAll() {
  for (Slot& s : slots_) {
    if (s.used()) {
      s.state.opened_arrival = 0;
      s.state.open_from = 0;
      s.state.scd1_hash = 0;
      s.state.scd2_hash = 0;
    }
  }
}

uint64_t KeyIndex::Bytes() const {
  // An unordered_set node is a key and a next pointer, plus a bucket pointer.
  return slots_.capacity() * sizeof(Slot) + colliding_.size() * 3 * sizeof(void*);
}

void KeyIndex::Reserve(size_t keys) {
  if (keys <= MaxKeys(slots_.size())) {
    return;
  }
  // Exactly what was asked the first time (Warm knows the count); by half at least later (runs add keys a
  // batch at a time).
  Grow(slots_.empty() ? SlotsFor(keys) : std::max(SlotsFor(keys), slots_.size() / 2 * 3));
}

void KeyIndex::Clear() {
  std::vector<Slot>().swap(slots_);
  size_ = 0;
  max_last_seq_ = 0;
  colliding_.clear();
}

void KeyIndex::Grow(size_t capacity) {
  std::vector<Slot> old;
  old.swap(slots_);
  slots_.resize(capacity);
  // Huge pages for the table (where the kernel gives them on request, as Debian's does by default): lookups
  // are random over hundreds of MB, so 4 KiB pages would make nearly every one a TLB miss as well. Asked for
  // once the table is written, so that the kernel's khugepaged merges its pages in the background: asked for
  // before, page faults of the table waited for the kernel to compact memory into free huge pages (a
  // 10M-key table growing to 17.1M slots took 1.7-2.2 s instead of 0.45 s on this project's machine; its
  // lookups are about a quarter slower until the pages are merged).
  const auto begin = reinterpret_cast<uintptr_t>(slots_.data());
  const uintptr_t huge = 2u << 20;
  const uintptr_t start = (begin + huge - 1) & ~(huge - 1);
  const uintptr_t end = (begin + capacity * sizeof(Slot)) & ~(huge - 1);
  if (end > start) {
    (void)madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
  }
  for (const Slot& s : old) {
    if (s.used()) {
      slots_[SlotOf(s.key_id)] = s;
    }
  }
}

namespace {

constexpr char kMagic[8] = {'D', 'S', 'K', 'E', 'Y', 'S', '0', '3'};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

struct Header {
  char magic[8];
  int64_t watermark;
  int64_t horizon;
  uint64_t count;
  uint64_t slot_size;
  uint64_t colliding;  // key ids after the slots
};

}  // namespace

Status KeyIndex::Save(const std::filesystem::path& path, SnapshotTag tag) const {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  // Made if missing: on a warehouse server, the snapshot is all a merge process keeps in its data directory,
  // which nothing else creates.
  if (std::error_code ec; path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path(), ec);
  }
  File f(std::fopen(tmp.c_str(), "wb"));
  if (!f) {
    return Error::Retryable("cannot write the key index snapshot " + tmp.string() + ": " +
                            std::strerror(errno));
  }
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof(kMagic));
  h.watermark = tag.watermark;
  h.horizon = tag.horizon;
  h.count = size_;
  h.slot_size = sizeof(Slot);
  h.colliding = colliding_.size();
  bool ok = std::fwrite(&h, sizeof(h), 1, f.get()) == 1;
  // Used slots only, in slot order; Load re-inserts them.
  constexpr size_t kBatch = 4096;
  std::vector<Slot> batch;
  batch.reserve(kBatch);
  for (size_t i = 0; ok && i <= slots_.size(); ++i) {
    if (i < slots_.size() && slots_[i].used()) {
      batch.push_back(slots_[i]);
    }
    if (batch.size() == kBatch || (i == slots_.size() && !batch.empty())) {
      ok = std::fwrite(batch.data(), sizeof(Slot), batch.size(), f.get()) == batch.size();
      batch.clear();
    }
  }
  std::vector<uint64_t> colliding(colliding_.begin(), colliding_.end());
  // (fwrite and fread must not be given the null data() of an empty vector)
  ok = ok && (colliding.empty() ||
              std::fwrite(colliding.data(), sizeof(uint64_t), colliding.size(), f.get()) == colliding.size());
  ok = ok && std::fflush(f.get()) == 0;
  f.reset();
  std::error_code ec;
  if (ok) {
    std::filesystem::rename(tmp, path, ec);
  }
  if (!ok || ec) {
    std::filesystem::remove(tmp, ec);
    return Error::Retryable("cannot write the key index snapshot " + path.string());
  }
  return Ok();
}

Result<std::optional<KeyIndex::SnapshotTag>> KeyIndex::Load(const std::filesystem::path& path) {
  Clear();
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) {
    return std::optional<SnapshotTag>();
  }
  Header h{};
  if (std::fread(&h, sizeof(h), 1, f.get()) != 1 || std::memcmp(h.magic, kMagic, sizeof(kMagic)) != 0 ||
      h.slot_size != sizeof(Slot) || h.colliding > h.count) {
    return std::optional<SnapshotTag>();
  }
  // With room for the new keys of the next runs: growing a table of tens of millions of keys takes seconds.
  Reserve(h.count + h.count / 16);
  constexpr size_t kBatch = 4096;
  std::vector<Slot> batch(kBatch);
  uint64_t left = h.count;
  std::vector<std::pair<uint64_t, KeyState>> entries;
  while (left > 0) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(left, kBatch));
    if (std::fread(batch.data(), sizeof(Slot), n, f.get()) != n) {
      Clear();
      return std::optional<SnapshotTag>();
    }
    entries.clear();
    for (size_t i = 0; i < n; ++i) {
      if (!batch[i].used()) {
        Clear();
        return std::optional<SnapshotTag>();
      }
      entries.emplace_back(batch[i].key_id, batch[i].state);
    }
    PutMany(entries);
    left -= n;
  }
  std::vector<uint64_t> colliding(h.colliding);
  if (!colliding.empty() &&
      std::fread(colliding.data(), sizeof(uint64_t), colliding.size(), f.get()) != colliding.size()) {
    Clear();
    return std::optional<SnapshotTag>();
  }
  colliding_.insert(colliding.begin(), colliding.end());
  return std::optional<SnapshotTag>(SnapshotTag{h.watermark, h.horizon});
}

}  // namespace dimstream
