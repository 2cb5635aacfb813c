#include "object_store/local_object_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/checksum.h"
#include "object_store/resolve_key.h"

namespace dimstream {
namespace {

namespace fs = std::filesystem;

constexpr size_t kCopyBlockBytes = 1 << 20;
// A temporary file older than this cannot belong to a put still running: its writer crashed.
constexpr std::chrono::hours kStaleTempAge{1};

// Closes a file descriptor on every path out of a function.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }
  // Closes now and reports the error: on some file systems a failed write only shows up here.
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

// Removes a temporary file unless the put that owns it succeeded.
class TempGuard {
 public:
  explicit TempGuard(fs::path path) : path_(std::move(path)) {}
  TempGuard(const TempGuard&) = delete;
  TempGuard& operator=(const TempGuard&) = delete;
  ~TempGuard() {
    if (!path_.empty()) {
      ::unlink(path_.c_str());
    }
  }
  void Release() { path_.clear(); }

 private:
  fs::path path_;
};

// What an errno means for the caller: a path that is a file where a directory is needed (or the other
// way round) will not fix itself; nearly everything else (disk full, I/O error, permissions an operator
// can fix) is worth another try.
ErrorKind KindOf(int err) {
  switch (err) {
    case ENOTDIR:
    case EISDIR:
    case ELOOP:
    case ENAMETOOLONG:
      return ErrorKind::kPermanent;
    default:
      return ErrorKind::kRetryable;
  }
}

Error ErrnoError(int err, std::string_view what = {}) {
  std::string message = what.empty() ? std::strerror(err) : fmt::format("{}: {}", what, std::strerror(err));
  return Error{KindOf(err), std::move(message)};
}

int64_t MtimeNanos(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

ObjectInfo InfoOf(ObjectKey key, const struct stat& st) {
  ObjectInfo info;
  info.key = std::move(key);
  info.size = static_cast<uint64_t>(st.st_size);
  info.version_tag = fmt::format("{}-{}-{}", MtimeNanos(st), static_cast<uint64_t>(st.st_ino), info.size);
  return info;
}

// Makes a rename or a file creation in `dir` durable.
int FsyncDir(const fs::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.ok()) {
    return errno;
  }
  if (::fsync(fd.get()) != 0) {
    return errno;
  }
  return 0;
}

int WriteAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t wrote = ::write(fd, data, n);
    if (wrote < 0) {
      if (errno == EINTR) {
        continue;
      }
      return errno;
    }
    data += wrote;
    n -= static_cast<size_t>(wrote);
  }
  return 0;
}

// Copies `in` to `out` and makes it durable. Returns 0 or an errno; `reading` tells which side failed.
int CopyAndSync(int in, int out, bool& reading) {
  std::string block(kCopyBlockBytes, '\0');
  while (true) {
    reading = true;
    ssize_t got = ::read(in, block.data(), block.size());
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      return errno;
    }
    if (got == 0) {
      break;
    }
    reading = false;
    if (int err = WriteAll(out, block.data(), static_cast<size_t>(got)); err != 0) {
      return err;
    }
  }
  reading = false;
  return ::fsync(out) == 0 ? 0 : errno;
}

// Splits a key that ResolveKey accepted into its segments.
std::vector<std::string> Segments(const ObjectKey& key) {
  std::vector<std::string> out;
  std::string_view text = key.get();
  size_t start = 0;
  while (true) {
    size_t slash = text.find('/', start);
    if (slash == std::string_view::npos) {
      out.emplace_back(text.substr(start));
      return out;
    }
    out.emplace_back(text.substr(start, slash - start));
    start = slash + 1;
  }
}

// Creates the directories leading to `key`, refusing to go through a symbolic link that appeared since
// ResolveKey looked. Adds to `to_sync` every directory that gained an entry, so that the new directories
// survive a crash along with the object.
Status MakeParents(const fs::path& root, const ObjectKey& key, std::vector<fs::path>& to_sync) {
  std::vector<std::string> segments = Segments(key);
  fs::path dir = root;
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    fs::path parent = dir;
    dir /= segments[i];
    if (::mkdir(dir.c_str(), 0777) == 0) {
      to_sync.push_back(parent);
      continue;
    }
    int err = errno;
    if (err != EEXIST) {
      return ErrnoError(err, fmt::format("cannot create directory {}", dir.string()));
    }
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) {
      return ErrnoError(errno, fmt::format("cannot create directory {}", dir.string()));
    }
    if (S_ISLNK(st.st_mode)) {
      return Error::Invalid(fmt::format("{} is a symbolic link", dir.string()));
    }
    if (!S_ISDIR(st.st_mode)) {
      return Error::Permanent(fmt::format("{} is a file, so no object can be put below it",
                                          dir.lexically_relative(root).string()));
    }
  }
  return Ok();
}

// Appends every object under `dir` (opened as `dir_fd`, whose key prefix is `prefix`) to `out`. Opens
// each subdirectory relative to its parent with O_NOFOLLOW, so that nothing swapped for a link while we
// walk is followed. Entries that vanish during the walk are skipped: they were removed, not lost.
Status ListDir(int dir_fd, const std::string& prefix, std::vector<ObjectInfo>& out) {
  DIR* dir = ::fdopendir(dir_fd);
  if (dir == nullptr) {
    int err = errno;
    ::close(dir_fd);
    return ErrnoError(err, prefix.empty() ? std::string("root") : prefix);
  }
  struct DirCloser {
    DIR* d;
    ~DirCloser() { ::closedir(d); }
  } closer{dir};
  while (true) {
    errno = 0;
    struct dirent* entry = ::readdir(dir);
    if (entry == nullptr) {
      if (errno != 0) {
        return ErrnoError(errno, prefix.empty() ? std::string("root") : prefix);
      }
      return Ok();
    }
    std::string_view name = entry->d_name;
    if (name.empty() || name.front() == '.') {
      continue;  // ".", "..", ".tmp/" and hidden names are never objects
    }
    struct stat st {};
    if (::fstatat(::dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) {
        continue;
      }
      return ErrnoError(errno, prefix + std::string(name));
    }
    std::string key = prefix + std::string(name);
    if (S_ISREG(st.st_mode)) {
      out.push_back(InfoOf(ObjectKey(key), st));
    } else if (S_ISDIR(st.st_mode)) {
      int child = ::openat(::dirfd(dir), entry->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child < 0) {
        if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR) {
          continue;
        }
        return ErrnoError(errno, key);
      }
      DIMSTREAM_TRY(ListDir(child, key + "/", out));
    }
    // Symbolic links, sockets, pipes and devices are not objects.
  }
}

}  // namespace

LocalObjectStore::LocalObjectStore(fs::path root) {
  root_ = fs::absolute(root).lexically_normal();
  if (!root_.has_filename() && root_.has_relative_path()) {
    root_ = root_.parent_path();  // "/x/bucket/" -> "/x/bucket"
  }
  description_ = "file://" + root_.string();
  fs::create_directories(TempDir());

  std::random_device random;
  temp_salt_ = (static_cast<uint64_t>(random()) << 32) ^ random();

  // Clean up after puts that crashed. Best effort: a failure here costs disk space, not correctness.
  std::error_code ec;
  auto now = fs::file_time_type::clock::now();
  for (const auto& entry : fs::directory_iterator(TempDir(), ec)) {
    std::error_code entry_ec;
    auto mtime = entry.last_write_time(entry_ec);
    if (!entry_ec && now - mtime > kStaleTempAge && entry.is_regular_file(entry_ec)) {
      spdlog::info("removing {} left by an unfinished put into {}", entry.path().string(), description_);
      fs::remove(entry.path(), entry_ec);
    }
  }
}

fs::path LocalObjectStore::TempDir() const {
  return root_ / ".tmp";
}

fs::path LocalObjectStore::NewTempPath() {
  return TempDir() / fmt::format("put-{}-{:016x}-{}", ::getpid(), temp_salt_, temp_sequence_.fetch_add(1));
}

std::string LocalObjectStore::Describe() const {
  return description_;
}

Status LocalObjectStore::Put(const ObjectKey& key, const fs::path& source, const ObjectRef& expected) {
  auto fail = [&](const Error& error) {
    return error.Context(fmt::format("cannot put {} into {}", key.get(), description_));
  };
  Result<fs::path> target = ResolveKey(root_, key);
  if (!target.ok()) {
    return fail(target.error());
  }
  const fs::path parent = target->parent_path();

  // The object may already be there: a put repeated after a crash, or after a failed notification.
  struct stat existing {};
  if (::lstat(target->c_str(), &existing) == 0 && S_ISREG(existing.st_mode) &&
      static_cast<uint64_t>(existing.st_size) == expected.size) {
    Result<FileDigest> digest = Sha256File(*target);
    if (digest.ok() && digest->size == expected.size && digest->checksum == expected.checksum) {
      // The first put may have died between its rename and its directory fsync.
      if (int err = FsyncDir(parent); err != 0) {
        return fail(ErrnoError(err, fmt::format("cannot sync directory {}", parent.string())));
      }
      return Ok();
    }
  }

  Fd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.ok()) {
    int err = errno;
    std::string what = fmt::format("cannot open source {}: {}", source.string(), std::strerror(err));
    return fail(err == ENOENT ? Error::NotFound(what) : Error{KindOf(err), what});
  }

  // The temporary directory may have been removed by hand since start-up.
  if (::mkdir(TempDir().c_str(), 0777) != 0 && errno != EEXIST) {
    return fail(ErrnoError(errno, fmt::format("cannot create {}", TempDir().string())));
  }
  fs::path temp;
  int out_fd = -1;
  for (int attempt = 0; attempt < 8 && out_fd < 0; ++attempt) {
    temp = NewTempPath();
    out_fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (out_fd < 0 && errno != EEXIST) {
      return fail(ErrnoError(errno));
    }
  }
  if (out_fd < 0) {
    return fail(Error::Retryable(fmt::format("cannot create a temporary file in {}", TempDir().string())));
  }
  Fd out(out_fd);
  TempGuard guard(temp);

  bool reading = false;
  if (int err = CopyAndSync(in.get(), out.get(), reading); err != 0) {
    return fail(reading ? ErrnoError(err, fmt::format("cannot read source {}", source.string()))
                        : ErrnoError(err));
  }
  if (int err = out.Close(); err != 0) {
    return fail(ErrnoError(err));
  }

  // Check what the file system holds, not what we meant to write: this also catches a source that
  // changed after the caller computed its checksum.
  Result<FileDigest> written = Sha256File(temp);
  if (!written.ok()) {
    return fail(Error::Retryable(written.error().message));
  }
  if (written->size != expected.size || written->checksum != expected.checksum) {
    return fail(Error::Retryable(fmt::format(
        "the copy has {} bytes and SHA-256 {}, expected {} bytes and SHA-256 {} (did the source change?)",
        written->size, written->checksum.get(), expected.size, expected.checksum.get())));
  }

  std::vector<fs::path> to_sync;
  if (Status made = MakeParents(root_, key, to_sync); !made.ok()) {
    return fail(made.error());
  }
  if (::rename(temp.c_str(), target->c_str()) != 0) {
    return fail(ErrnoError(errno));
  }
  guard.Release();

  to_sync.insert(to_sync.begin(), parent);
  for (const fs::path& dir : to_sync) {
    if (int err = FsyncDir(dir); err != 0) {
      return fail(ErrnoError(err, fmt::format("cannot sync directory {}", dir.string())));
    }
  }
  return Ok();
}

Result<std::vector<ObjectInfo>> LocalObjectStore::List() {
  std::vector<ObjectInfo> out;
  int root_fd = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) {
    return ErrnoError(errno).Context(fmt::format("cannot list {}", description_));
  }
  if (Status listed = ListDir(root_fd, "", out); !listed.ok()) {
    return listed.error().Context(fmt::format("cannot list {}", description_));
  }
  std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

Result<ObjectInfo> LocalObjectStore::Stat(const ObjectKey& key) {
  auto fail = [&](const Error& error) {
    return error.Context(fmt::format("cannot stat {} in {}", key.get(), description_));
  };
  Result<fs::path> path = ResolveKey(root_, key);
  if (!path.ok()) {
    return fail(path.error());
  }
  struct stat st {};
  if (::lstat(path->c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return fail(Error::NotFound("no such object"));
    }
    return fail(ErrnoError(err));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(Error::NotFound("not an object (a directory or a special file)"));
  }
  return InfoOf(key, st);
}

Result<std::unique_ptr<ByteStream>> LocalObjectStore::Open(const ObjectKey& key) {
  auto fail = [&](const Error& error) {
    return error.Context(fmt::format("cannot get {} from {}", key.get(), description_));
  };
  Result<fs::path> path = ResolveKey(root_, key);
  if (!path.ok()) {
    return fail(path.error());
  }
  // O_NOFOLLOW: a link swapped in after ResolveKey looked is still refused.
  int fd = ::open(path->c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return fail(Error::NotFound("no such object"));
    }
    if (err == ELOOP) {
      return fail(Error::Invalid("the object is a symbolic link"));
    }
    return fail(Error::Retryable(std::strerror(err)));
  }
  auto stream = std::make_unique<FileStream>(fd, fmt::format("{} in {}", key.get(), description_));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return fail(Error::Retryable(std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(Error::NotFound("not an object (a directory or a special file)"));
  }
  // The loader reads an object once, front to back: let the kernel read ahead and drop what was read.
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::unique_ptr<ByteStream>(std::move(stream));
}

std::optional<fs::path> LocalObjectStore::LocalFile(const ObjectKey& key) {
  Result<fs::path> path = ResolveKey(root_, key);
  if (!path.ok()) {
    return std::nullopt;
  }
  return *path;
}

Result<std::string> LocalObjectStore::Get(const ObjectKey& key) {
  auto stream = Open(key);
  if (!stream.ok()) {
    return stream.error();
  }
  return ReadWhole(**stream);
}

}  // namespace dimstream
