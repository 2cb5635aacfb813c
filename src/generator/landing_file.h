#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/error.h"

namespace dimstream {

// Writes the generator's files into the landing directory so that each appears whole or not at all: the
// content goes to a hidden temporary file in the same directory (".<prefix>_<pid>_<k>.csv.tmp", which the
// mover ignores), is flushed and fsync'd, then renamed to <prefix>_<UTC YYYYMMDDHHMMSS>_<n>.csv without
// replacing anything (n is bumped past names that exist), and the directory is fsync'd. The prefix is the
// entity's name: "customer" for the built-in one.
//
// Owns the open descriptor and the temporary file of the file in progress; an unpublished temporary file
// is removed by Discard or the destructor. One file at a time. Generate owns one and calls it on its thread.
class LandingFileWriter {
 public:
  explicit LandingFileWriter(std::filesystem::path dir, std::string prefix = "customer");
  ~LandingFileWriter();
  LandingFileWriter(const LandingFileWriter&) = delete;
  LandingFileWriter& operator=(const LandingFileWriter&) = delete;

  // Starts a new temporary file.
  Status Open();
  // Buffers `data`, writing it out in large chunks.
  Status Append(std::string_view data);
  // Makes the file visible under its final name; returns that path.
  Result<std::filesystem::path> Publish();
  // Drops the file in progress, if any.
  void Discard();

  // The sequence number the next published file will carry (1 for the first).
  uint64_t next_sequence() const { return next_sequence_; }

 private:
  Status Flush();
  Error IoError(const char* what, const std::filesystem::path& path, int err) const;

  std::filesystem::path dir_;
  std::string prefix_;
  std::filesystem::path tmp_path_;
  int fd_ = -1;
  std::string buffer_;
  uint64_t next_sequence_ = 1;
  uint64_t tmp_counter_ = 0;
};

}  // namespace dimstream
