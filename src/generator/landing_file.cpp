#include "generator/landing_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <system_error>

#include <fmt/format.h>

#include "common/clock.h"

namespace dimstream {
namespace {

// Large enough that writing costs few system calls, small enough that a file of millions of rows does not
// sit in memory.
constexpr size_t kFlushBytes = 1 << 20;
// Attempts at a free name before giving up; each one is a different name, so only a directory filling up
// with our names at the same moment could exhaust them.
constexpr int kNameAttempts = 10000;

bool IsRetryable(int err) {
  return err == ENOSPC || err == EDQUOT || err == EAGAIN || err == EBUSY || err == EMFILE || err == ENFILE ||
         err == EINTR;
}

enum class RenameResult { kDone, kExists, kUnsupported, kFailed };

// Renames `from` to `to` unless `to` exists, atomically where the file system allows it.
RenameResult RenameNoReplace(const std::filesystem::path& from, const std::filesystem::path& to, int& err) {
#ifdef RENAME_NOREPLACE
  if (renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
    return RenameResult::kDone;
  }
  err = errno;
  if (err == EEXIST) {
    return RenameResult::kExists;
  }
  if (err != EINVAL && err != ENOSYS && err != ENOTSUP) {
    return RenameResult::kFailed;
  }
#endif
  // Without renameat2: link() also refuses to replace and is atomic; the temporary name is removed after.
  if (link(from.c_str(), to.c_str()) == 0) {
    unlink(from.c_str());
    return RenameResult::kDone;
  }
  err = errno;
  if (err == EEXIST) {
    return RenameResult::kExists;
  }
  if (err == EPERM || err == ENOTSUP || err == EOPNOTSUPP) {
    return RenameResult::kUnsupported;
  }
  return RenameResult::kFailed;
}

}  // namespace

LandingFileWriter::LandingFileWriter(std::filesystem::path dir, std::string prefix)
    : dir_(std::move(dir)), prefix_(std::move(prefix)) {}

LandingFileWriter::~LandingFileWriter() {
  Discard();
}

Error LandingFileWriter::IoError(const char* what, const std::filesystem::path& path, int err) const {
  std::string message =
      fmt::format("cannot {} {}: {}", what, path.string(), std::generic_category().message(err));
  return IsRetryable(err) ? Error::Retryable(std::move(message)) : Error::Permanent(std::move(message));
}

Status LandingFileWriter::Open() {
  Discard();
  for (int attempt = 0; attempt < kNameAttempts; ++attempt) {
    // The pid keeps two generators on one landing directory apart; O_EXCL skips a leftover of a crash.
    std::filesystem::path path = dir_ / fmt::format(".{}_{}_{}.csv.tmp", prefix_, getpid(), ++tmp_counter_);
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
      fd_ = fd;
      tmp_path_ = std::move(path);
      buffer_.clear();
      return Ok();
    }
    if (errno != EEXIST) {
      return IoError("create", path, errno);
    }
  }
  return Error::Permanent(
      fmt::format("cannot create a temporary file in {}: every name is taken", dir_.string()));
}

Status LandingFileWriter::Append(std::string_view data) {
  buffer_ += data;
  if (buffer_.size() >= kFlushBytes) {
    return Flush();
  }
  return Ok();
}

Status LandingFileWriter::Flush() {
  size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t n = write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return IoError("write", tmp_path_, errno);
    }
    done += static_cast<size_t>(n);
  }
  buffer_.clear();
  return Ok();
}

Result<std::filesystem::path> LandingFileWriter::Publish() {
  DIMSTREAM_TRY(Flush());
  if (fsync(fd_) != 0) {
    return IoError("sync", tmp_path_, errno);
  }
  const int fd = fd_;
  fd_ = -1;
  if (close(fd) != 0) {
    return IoError("close", tmp_path_, errno);
  }

  // The wall-clock time orders files across runs; n orders them within a second and within this run.
  const std::string stamp = FormatCompactTimestamp(NowMicros());
  for (int attempt = 0; attempt < kNameAttempts; ++attempt) {
    const std::filesystem::path final_path =
        dir_ / fmt::format("{}_{}_{:06}.csv", prefix_, stamp, next_sequence_++);
    int err = 0;
    RenameResult result = RenameNoReplace(tmp_path_, final_path, err);
    if (result == RenameResult::kUnsupported) {
      // A file system with neither renameat2 nor hard links: check, then rename. Another writer could slip
      // in between; only ours would, and it bumps its own names the same way.
      std::error_code ec;
      if (std::filesystem::exists(final_path, ec)) {
        result = RenameResult::kExists;
      } else if (std::rename(tmp_path_.c_str(), final_path.c_str()) == 0) {
        result = RenameResult::kDone;
      } else {
        err = errno;
        result = RenameResult::kFailed;
      }
    }
    if (result == RenameResult::kExists) {
      continue;
    }
    if (result == RenameResult::kFailed) {
      return IoError("rename into", final_path, err);
    }
    tmp_path_.clear();
    // The rename is durable only once the directory entry is.
    const int dir_fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
      const int rc = fsync(dir_fd);
      const int sync_err = errno;
      close(dir_fd);
      if (rc != 0 && sync_err != EINVAL) {
        return IoError("sync directory", dir_, sync_err);
      }
    }
    return final_path;
  }
  return Error::Permanent(fmt::format("cannot publish {} in {}: every candidate name is taken",
                                      tmp_path_.filename().string(), dir_.string()));
}

void LandingFileWriter::Discard() {
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
  if (!tmp_path_.empty()) {
    unlink(tmp_path_.c_str());
    tmp_path_.clear();
  }
  buffer_.clear();
}

}  // namespace dimstream
