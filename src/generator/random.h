#pragma once

#include <cstdint>
#include <vector>

namespace dimstream {

// xoshiro256** (Blackman and Vigna), its state seeded through splitmix64, with our own uniform and
// Bernoulli helpers. We do not use <random>'s distributions: their algorithms are implementation-defined,
// and the same seed must give byte-identical files with any compiler and standard library.
// Owns four words of state; not thread-safe. ChangeStream owns one and draws from it on its caller's thread.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& word : s_) {
      word = SplitMix64(seed);
    }
  }

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n), n > 0. Draws below 2^64 mod n are rejected so that every value is equally likely.
  uint64_t Uniform(uint64_t n) {
    const uint64_t threshold = (0 - n) % n;
    for (;;) {
      const uint64_t r = Next();
      if (r >= threshold) {
        return r % n;
      }
    }
  }

  // Uniform in [lo, hi].
  uint64_t Between(uint64_t lo, uint64_t hi) { return lo + Uniform(hi - lo + 1); }

  // Uniform in [0, 1), on the 2^53 grid of doubles.
  double UnitDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

  // True with probability p: never for p <= 0, always for p >= 1.
  bool Bernoulli(double p) { return UnitDouble() < p; }

  // Index of a uniformly chosen element of a non-empty vector.
  template <typename T>
  uint32_t PickIndex(const std::vector<T>& v) {
    return static_cast<uint32_t>(Uniform(v.size()));
  }

 private:
  static uint64_t SplitMix64(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t s_[4];
};

}  // namespace dimstream
