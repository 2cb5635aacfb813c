#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

// Helpers for the generator's tests: a scratch directory, reading the files back, and an independent reading
// of SEMANTICS.md section 2 to tell well-formed rows from malformed ones. Written apart from the generator's
// own code on purpose, so that a mistake there is not repeated here.
namespace dimstream::testing {

// A fresh directory under the system's temporary directory, removed with everything in it at the end.
class ScratchDir {
 public:
  explicit ScratchDir(std::string_view name);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string ReadFile(const std::filesystem::path& path);

// customer_<14 digits>_<6 digits>.csv
bool IsFinalName(const std::string& name);

// The generator's files in `dir`, ordered by their sequence number (the 6 digits), which is the order they
// were written in; other entries are ignored.
std::vector<std::filesystem::path> GeneratedFiles(const std::filesystem::path& dir);

// Lines of `content` without their CRLF; false in `crlf_ok` when a line ends otherwise.
std::vector<std::string> SplitLines(const std::string& content, bool* crlf_ok);

// RFC 4180 fields of one line; nullopt when its quoting is broken.
std::optional<std::vector<std::string>> SplitCsv(std::string_view line);

bool IsValidUtf8(std::string_view s);

// Why the loader must reject `line` under SEMANTICS.md section 2, or nullopt when it must accept it.
std::optional<std::string> RejectReason(const std::vector<std::string>& header, std::string_view line);

// What a reader of the generator's files can tell about its rows, reading them in order the way the
// pipeline would, with the generator's promises checked on the way (listed in `problems`).
struct Audit {
  uint64_t rows = 0;
  uint64_t bad = 0;         // rows the loader must reject
  uint64_t duplicates = 0;  // exact copies of an earlier line
  uint64_t inserts = 0;     // first row of a key
  uint64_t reinserts = 0;   // upsert of a deleted key
  uint64_t scd1 = 0;        // upsert changing name or email
  uint64_t scd2 = 0;        // upsert changing the address
  uint64_t late = 0;        // upsert older than its key's latest row
  uint64_t deletes = 0;
  uint64_t attribute_fields = 0;  // in well-formed rows
  uint64_t null_fields = 0;
  std::set<uint64_t> keys;
  std::vector<std::string> problems;
};

// Reads `files` in order. `first_key`: where new keys must start counting.
Audit AuditFiles(const std::vector<std::filesystem::path>& files, uint64_t first_key);

}  // namespace dimstream::testing
