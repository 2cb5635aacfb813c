#include "merge/key_index.h"

#include <algorithm>
#include <bit>
#include <cassert>

namespace dimstream {
namespace {

// A 64-bit finalizer (splitmix64's): customer ids are often dense, linear probing wants them spread.
uint64_t Mix(int64_t key) {
  auto x = static_cast<uint64_t>(key);
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace

size_t KeyIndex::SlotOf(int64_t key) const {
  size_t mask = slots_.size() - 1;
  size_t i = Mix(key) & mask;
  while (slots_[i].used() && slots_[i].key != key) {
    i = (i + 1) & mask;
  }
  return i;
}

const KeyState* KeyIndex::Find(int64_t key) const {
  if (slots_.empty()) {
    return nullptr;
  }
  const Slot& s = slots_[SlotOf(key)];
  return s.used() ? &s.state : nullptr;
}

void KeyIndex::Put(int64_t key, const KeyState& state) {
  assert(state.last_seq != INT64_MIN);
  if ((size_ + 1) * 8 > slots_.size() * 7) {
    Grow(std::max<size_t>(slots_.size() * 2, 1024));
  }
  Slot& s = slots_[SlotOf(key)];
  if (!s.used()) {
    s.key = key;
    ++size_;
  }
  s.state = state;
}

void KeyIndex::Reserve(size_t keys) {
  size_t capacity = std::bit_ceil(std::max<size_t>(keys * 8 / 7 + 1, 1024));
  if (capacity > slots_.size()) {
    Grow(capacity);
  }
}

void KeyIndex::Clear() {
  std::vector<Slot>().swap(slots_);
  size_ = 0;
}

void KeyIndex::Grow(size_t capacity) {
  std::vector<Slot> old;
  old.swap(slots_);
  slots_.assign(capacity, Slot{});
  for (const Slot& s : old) {
    if (s.used()) {
      slots_[SlotOf(s.key)] = s;
    }
  }
}

}  // namespace dimstream
