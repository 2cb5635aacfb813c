#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

#include "common/error.h"

namespace dimstream {

// Where a credential comes from: an environment variable or a file. Never the value itself: a
// configuration file is read by more people and tools than a credential should be.
struct SecretSource {
  enum class Kind { kEnv, kFile };
  Kind kind = Kind::kEnv;
  std::string ref;  // the variable's name, or the file's path
  std::string Describe() const;
};

// A credential's value. It cannot be formatted or streamed by mistake (fmt prints "***"); an adapter asks
// for the text with Reveal() where it hands it to its client library. Every value read is also remembered
// by Redact(), which the log sink and the command line's error output pass their text through.
class Secret {
 public:
  const std::string& Reveal() const { return value_; }

 private:
  friend Result<Secret> ReadSecret(const SecretSource& source);
  explicit Secret(std::string value) : value_(std::move(value)) {}
  std::string value_;
};

// Reads the credential. The variable must be set and not empty; the file must be a regular file that
// neither its group nor others may read or write (as ssh and libpq's .pgpass require), and one trailing
// line break is dropped. kInvalidInput, saying what to fix, otherwise; the message never holds the value.
Result<Secret> ReadSecret(const SecretSource& source);

// `text` with every credential read so far by this process replaced by "***".
std::string Redact(std::string_view text);

}  // namespace dimstream

template <>
struct fmt::formatter<dimstream::Secret> : fmt::formatter<std::string_view> {
  template <typename Context>
  auto format(const dimstream::Secret&, Context& ctx) const {
    return fmt::formatter<std::string_view>::format("***", ctx);
  }
};
