#include "bench/scaleout/child.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <fstream>
#include <thread>
#include <utility>

#include <fmt/format.h>

extern char** environ;

namespace dimstream::scaleout {
namespace {

int ExitCodeOf(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

Result<Child> Child::Start(const std::vector<std::string>& argv, const fs::path& log) {
  int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Error::Permanent(fmt::format("cannot open {}: {}", log.string(), std::strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fd, STDERR_FILENO);
  std::vector<char*> args;
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fd);
  if (rc != 0) {
    return Error::Permanent(fmt::format("cannot start {}: {}", argv[0], std::strerror(rc)));
  }
  Child c;
  c.pid_ = pid;
  c.log_ = log;
  return c;
}

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), code_(other.code_), log_(std::move(other.log_)) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    (void)Stop(std::chrono::seconds(10));
    pid_ = std::exchange(other.pid_, -1);
    code_ = other.code_;
    log_ = std::move(other.log_);
  }
  return *this;
}

Child::~Child() {
  (void)Stop(std::chrono::seconds(10));
}

Result<int> Child::Wait() {
  if (pid_ < 0) {
    return code_;
  }
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) {
      return Error::Permanent(fmt::format("cannot wait for process {}: {}", pid_, std::strerror(errno)));
    }
  }
  pid_ = -1;
  code_ = ExitCodeOf(status);
  return code_;
}

bool Child::Running() {
  if (pid_ < 0) {
    return false;
  }
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    code_ = ExitCodeOf(status);
    return false;
  }
  return r == 0;
}

Result<int> Child::Stop(std::chrono::seconds grace) {
  if (!Running()) {
    return code_;
  }
  kill(pid_, SIGTERM);
  const auto until = std::chrono::steady_clock::now() + grace;
  while (Running() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (Running()) {
    kill(pid_, SIGKILL);
  }
  return Wait();
}

std::string Child::Tail(size_t lines) const {
  std::ifstream in(log_);
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (last.size() > lines) {
      last.pop_front();
    }
  }
  std::string out;
  for (const auto& l : last) {
    out += "\n  | " + l;
  }
  return out;
}

Status RunToEnd(const std::vector<std::string>& argv, const fs::path& log) {
  auto child = Child::Start(argv, log);
  if (!child.ok()) {
    return child.error();
  }
  auto code = child->Wait();
  if (!code.ok()) {
    return code.error();
  }
  if (*code != 0) {
    std::string command;
    for (const auto& a : argv) {
      command += (command.empty() ? "" : " ") + a;
    }
    return Error::Permanent(
        fmt::format("`{}` exited with {} (log {}):{}", command, *code, log.string(), child->Tail()));
  }
  return Ok();
}

Status WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    return Error::Permanent("cannot write " + path.string());
  }
  return Ok();
}

}  // namespace dimstream::scaleout
