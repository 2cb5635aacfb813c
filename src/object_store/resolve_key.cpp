#include "object_store/resolve_key.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace dimstream {
namespace {

constexpr size_t kMaxSegmentBytes = 255;  // NAME_MAX on every file system we run on

Error InvalidKey(const ObjectKey& key, std::string_view why) {
  // The key may hold a NUL or control bytes: escape it so that the message stays one readable line.
  std::string shown;
  for (char c : key.get()) {
    if (c == '\0') {
      shown += "\\0";
    } else {
      shown += c;
    }
  }
  return Error::Invalid(fmt::format("invalid object key \"{}\": {}", shown, why));
}

// The key's segments, once it passes every check that needs no file system.
Result<std::vector<std::string_view>> KeySegments(const ObjectKey& key) {
  std::string_view text = key.get();
  if (text.empty()) {
    return InvalidKey(key, "it is empty");
  }
  if (text.front() == '/') {
    return InvalidKey(key, "it is absolute; keys are relative to the bucket");
  }
  if (text.find('\\') != std::string_view::npos) {
    return InvalidKey(key, "it contains a backslash; keys use '/' separators");
  }
  if (text.find('\0') != std::string_view::npos) {
    return InvalidKey(key, "it contains a NUL byte");
  }

  std::vector<std::string_view> segments;
  size_t start = 0;
  while (true) {
    size_t slash = text.find('/', start);
    std::string_view segment =
        text.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (segment.empty()) {
      return InvalidKey(key, "it has an empty segment");
    }
    if (segment == "." || segment == "..") {
      return InvalidKey(key, fmt::format("segment \"{}\" would leave its place in the bucket", segment));
    }
    if (segment.front() == '.') {
      return InvalidKey(key, fmt::format("segment \"{}\" is hidden (starts with '.')", segment));
    }
    if (segment.size() > kMaxSegmentBytes) {
      return InvalidKey(key, fmt::format("a segment is longer than {} bytes", kMaxSegmentBytes));
    }
    segments.push_back(segment);
    if (slash == std::string_view::npos) {
      break;
    }
    start = slash + 1;
  }
  return segments;
}

}  // namespace

Status CheckKey(const ObjectKey& key) {
  auto segments = KeySegments(key);
  return segments.ok() ? Ok() : Status(segments.error());
}

Result<std::filesystem::path> ResolveKey(const std::filesystem::path& root, const ObjectKey& key) {
  auto checked = KeySegments(key);
  if (!checked.ok()) {
    return checked.error();
  }
  const std::vector<std::string_view>& segments = *checked;

  // Walk the existing part of the path without following anything: a symbolic link anywhere below the
  // root could point outside it. Once a component does not exist, nothing below it exists either (a put
  // creates the missing directories itself and checks them again as it does).
  std::filesystem::path resolved = root;
  std::string below_root;
  bool exists = true;
  for (std::string_view segment : segments) {
    resolved /= std::filesystem::path(std::string(segment));
    below_root += below_root.empty() ? "" : "/";
    below_root += segment;
    if (!exists) {
      continue;
    }
    struct stat st {};
    if (::lstat(resolved.c_str(), &st) != 0) {
      int err = errno;
      if (err != ENOENT && err != ENOTDIR) {
        return Error::Retryable(fmt::format("cannot check object key \"{}\": {}: {}", key.get(),
                                            resolved.string(), std::strerror(err)));
      }
      exists = false;
    } else if (S_ISLNK(st.st_mode)) {
      return InvalidKey(key, fmt::format("\"{}\" is a symbolic link", below_root));
    }
  }
  return resolved;
}

}  // namespace dimstream
