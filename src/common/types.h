#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

namespace dimstream {

using idx_t = uint64_t;

// A strong type around a value, so that an object key cannot be passed where a checksum is expected.
template <typename Tag, typename T = std::string>
class Strong {
 public:
  Strong() = default;
  explicit Strong(T v) : v_(std::move(v)) {}
  const T& get() const { return v_; }
  auto operator<=>(const Strong&) const = default;

 private:
  T v_{};
};

// The path of an object in the bucket, relative and with '/' separators: also its path under landing.
using ObjectKey = Strong<struct ObjectKeyTag>;
// Lower-case hex SHA-256 of an object's content.
using Checksum = Strong<struct ChecksumTag>;

// An object in the bucket as a notification announces it.
struct ObjectRef {
  ObjectKey key;
  uint64_t size = 0;
  Checksum checksum;
};

// Microseconds since the Unix epoch, UTC: the unit of every timestamp dimstream stores.
using Micros = int64_t;

// A 128-bit integer (the unscaled value of a wide decimal). __extension__: GCC's and Clang's own type, which
// -Wpedantic would otherwise refuse.
__extension__ typedef __int128 Int128;
__extension__ typedef unsigned __int128 UInt128;

}  // namespace dimstream

template <typename Tag, typename T>
struct std::hash<dimstream::Strong<Tag, T>> {
  size_t operator()(const dimstream::Strong<Tag, T>& s) const { return std::hash<T>{}(s.get()); }
};
