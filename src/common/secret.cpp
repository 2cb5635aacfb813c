#include "common/secret.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <set>

namespace dimstream {
namespace {

// Credentials shorter than this are not redacted from text: "***" in place of every "ab" would garble logs
// without hiding anything an attacker could not guess.
constexpr size_t kShortest = 4;

struct Known {
  std::mutex mu;
  std::set<std::string, std::greater<>> values;  // longest first among shared prefixes
};

Known& KnownSecrets() {
  static Known* known = new Known;  // never destroyed: logging may run during static destruction
  return *known;
}

void Remember(const std::string& value) {
  if (value.size() < kShortest) {
    return;
  }
  Known& k = KnownSecrets();
  std::lock_guard lock(k.mu);
  k.values.insert(value);
}

Result<std::string> FromFile(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return Error::Invalid(fmt::format("cannot read credential file {}: {}", path, std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return Error::Invalid(fmt::format("credential file {} is not a regular file", path));
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return Error::Invalid(fmt::format(
        "credential file {} may be read or written by other users (mode {:o}); make it private: chmod 600 {}",
        path, st.st_mode & 07777, path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error::Invalid(fmt::format("cannot read credential file {}", path));
  }
  std::string value((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!value.empty() && value.back() == '\n') {
    value.pop_back();
    if (!value.empty() && value.back() == '\r') {
      value.pop_back();
    }
  }
  return value;
}

}  // namespace

std::string SecretSource::Describe() const {
  return kind == Kind::kEnv ? "environment variable " + ref : "file " + ref;
}

Result<Secret> ReadSecret(const SecretSource& source) {
  std::string value;
  if (source.kind == SecretSource::Kind::kEnv) {
    const char* v = std::getenv(source.ref.c_str());
    if (v == nullptr) {
      return Error::Invalid(fmt::format("the credential's environment variable {} is not set", source.ref));
    }
    value = v;
  } else {
    auto v = FromFile(source.ref);
    if (!v.ok()) {
      return v.error();
    }
    value = std::move(*v);
  }
  if (value.empty()) {
    return Error::Invalid(fmt::format("the credential from {} is empty", source.Describe()));
  }
  Remember(value);
  return Secret(std::move(value));
}

std::string Redact(std::string_view text) {
  Known& k = KnownSecrets();
  std::lock_guard lock(k.mu);
  std::string out(text);
  for (const std::string& v : k.values) {
    for (size_t at = out.find(v); at != std::string::npos; at = out.find(v, at + 3)) {
      out.replace(at, v.size(), "***");
    }
  }
  return out;
}

}  // namespace dimstream
