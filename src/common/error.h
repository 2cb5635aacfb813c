#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace dimstream {

// What the caller should do about a failure. Expected failures travel as values carrying one of these;
// exceptions are kept for the edges (configuration, command line, start-up).
enum class ErrorKind {
  kRetryable,     // transient: try the same thing again later (locked file, broker away, disk full)
  kPermanent,     // will fail again: give up on this item, record why, carry on with the rest
  kInvalidInput,  // the input itself is wrong: reject it with the message
  kNotFound,      // the thing asked for does not exist (any more)
};

const char* ErrorKindName(ErrorKind kind);

struct Error {
  ErrorKind kind;
  std::string message;

  static Error Retryable(std::string m) { return {ErrorKind::kRetryable, std::move(m)}; }
  static Error Permanent(std::string m) { return {ErrorKind::kPermanent, std::move(m)}; }
  static Error Invalid(std::string m) { return {ErrorKind::kInvalidInput, std::move(m)}; }
  static Error NotFound(std::string m) { return {ErrorKind::kNotFound, std::move(m)}; }

  // Prefixes context ("cannot load bucket/x.csv: ") while keeping the kind.
  Error Context(const std::string& what) const { return {kind, what + ": " + message}; }
};

// A value or an Error. Small on purpose: C++20 has no std::expected.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_{ErrorKind::kPermanent, {}};
  bool ok_ = true;
};

using Status = Result<void>;

inline Status Ok() {
  return {};
}

}  // namespace dimstream

// Returns early with the error of a Status or Result expression.
#define DIMSTREAM_TRY(expr)          \
  do {                               \
    auto&& _dimstream_try = (expr);  \
    if (!_dimstream_try.ok()) {      \
      return _dimstream_try.error(); \
    }                                \
  } while (false)
