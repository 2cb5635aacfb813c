#include "cli/query_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "cli/output_format.h"
#include "common/checksum.h"

namespace dimstream {
namespace {

constexpr size_t kMaxRequestBytes = 16 << 20;

bool FillAddress(const std::filesystem::path& socket, sockaddr_un& addr) {
  std::memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  const std::string& p = socket.native();
  if (p.size() >= sizeof(addr.sun_path)) {
    return false;
  }
  std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
  return true;
}

sockaddr* AsSockaddr(sockaddr_un& addr) {
  return reinterpret_cast<sockaddr*>(&addr);
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool ReadAll(int fd, std::string& out, size_t limit) {
  char buf[65536];
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return false;
    }
    if (n == 0) {
      return true;
    }
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > limit) {
      return false;
    }
  }
}

int Connect(const std::filesystem::path& socket) {
  sockaddr_un addr;
  if (!FillAddress(socket, addr)) {
    return -1;
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  if (::connect(fd, AsSockaddr(addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

std::filesystem::path QuerySocketFor(const std::filesystem::path& warehouse) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::weakly_canonical(std::filesystem::absolute(warehouse, ec), ec);
  std::string id = Sha256(abs.string()).get().substr(0, 16);
  return std::filesystem::path("/tmp") / ("dimstream-" + std::to_string(::getuid())) / (id + ".sock");
}

QueryServer::QueryServer(int fd, std::filesystem::path socket, Warehouse& warehouse)
    : fd_(fd), socket_(std::move(socket)), warehouse_(warehouse) {}

QueryServer::~QueryServer() {
  ::close(fd_);
  std::error_code ec;
  std::filesystem::remove(socket_, ec);
}

Result<std::unique_ptr<QueryServer>> QueryServer::Start(const std::filesystem::path& socket,
                                                        Warehouse& warehouse) {
  std::filesystem::path dir = socket.parent_path();
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Error::Permanent("cannot create " + dir.string() + ": " + std::strerror(errno));
  }
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::getuid() ||
      (st.st_mode & 0077) != 0) {
    return Error::Permanent(dir.string() + " must be a directory owned by this user with mode 0700");
  }
  int existing = Connect(socket);
  if (existing >= 0) {
    ::close(existing);
    return Error::Retryable("another dimstream process already serves queries at " + socket.string());
  }
  std::error_code ec;
  std::filesystem::remove(socket, ec);  // a stale socket left by a process that was killed
  sockaddr_un addr;
  if (!FillAddress(socket, addr)) {
    return Error::Permanent("socket path too long: " + socket.string());
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  mode_t old = ::umask(0077);
  int bound = ::bind(fd, AsSockaddr(addr), sizeof(addr));
  ::umask(old);
  if (fd < 0 || bound != 0 || ::listen(fd, 16) != 0) {
    std::string why = std::strerror(errno);
    if (fd >= 0) {
      ::close(fd);
    }
    return Error::Retryable("cannot listen on " + socket.string() + ": " + why);
  }
  ::chmod(socket.c_str(), 0600);
  return std::unique_ptr<QueryServer>(new QueryServer(fd, socket, warehouse));
}

void QueryServer::Run(const StopSignal& stop) {
  while (!stop.Requested()) {
    pollfd p{fd_, POLLIN, 0};
    int n = ::poll(&p, 1, 200);
    if (n <= 0) {
      continue;
    }
    int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      continue;
    }
    Serve(client);
    ::close(client);
  }
}

void QueryServer::Serve(int client) {
  timeval timeout{10, 0};
  ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  std::string sql;
  if (!ReadAll(client, sql, kMaxRequestBytes)) {
    WriteAll(client, "ERR\nthe request was not read whole (too large or too slow)");
    return;
  }
  auto r = warehouse_.Query(sql);
  if (r.ok()) {
    WriteAll(client, "OK\n" + SerializeResult(*r));
  } else {
    WriteAll(client, "ERR\n" + r.error().message);
  }
}

Result<QueryResult> RemoteQuery(const std::filesystem::path& socket, const std::string& sql) {
  int fd = Connect(socket);
  if (fd < 0) {
    return Error::NotFound("no dimstream process serves queries at " + socket.string());
  }
  std::string answer;
  bool ok = WriteAll(fd, sql) && ::shutdown(fd, SHUT_WR) == 0 && ReadAll(fd, answer, size_t{1} << 34);
  ::close(fd);
  if (!ok) {
    return Error::Retryable("the query server at " + socket.string() + " did not answer");
  }
  if (answer.rfind("OK\n", 0) == 0) {
    return DeserializeResult(answer.substr(3));
  }
  return Error::Invalid(answer.rfind("ERR\n", 0) == 0 ? answer.substr(4) : answer);
}

}  // namespace dimstream
