// A child process whose standard output the test reads line by line.
#pragma once

#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

extern char** environ;

namespace natscoro::test {

class child_process {
 public:
  /// Starts args[0] with the arguments that follow; `with_stderr`: its standard error comes through read_line() too.
  /// Its standard input is /dev/null, or with `with_terminal` a pseudo-terminal that type() writes to.
  explicit child_process(std::vector<std::string> args, bool with_stderr = false, bool with_terminal = false) {
    int fds[2];
    BOOST_REQUIRE(::pipe(fds) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    int terminal = -1;
    if (with_terminal) {
      terminal_ = ::posix_openpt(O_RDWR | O_NOCTTY);
      BOOST_REQUIRE(terminal_ >= 0);
      BOOST_REQUIRE(::grantpt(terminal_) == 0 && ::unlockpt(terminal_) == 0);
      terminal = ::open(::ptsname(terminal_), O_RDWR | O_NOCTTY);
      BOOST_REQUIRE(terminal >= 0);
      posix_spawn_file_actions_adddup2(&actions, terminal, STDIN_FILENO);
      posix_spawn_file_actions_addclose(&actions, terminal_);
    } else {
      posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    }
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    if (with_stderr) posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    BOOST_REQUIRE(posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (terminal >= 0) ::close(terminal);
    out_ = fds[0];
  }
  ~child_process() {
    kill();
    ::close(out_);
    if (terminal_ >= 0) ::close(terminal_);
  }

  /// Types `text` on the child's terminal (with_terminal).
  void type(const std::string& text) {
    BOOST_REQUIRE(terminal_ >= 0);
    BOOST_REQUIRE(::write(terminal_, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// The next line the child prints; empty if none comes within `limit` or it exits.
  std::string read_line(std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return {};
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return {};
      char c;
      if (::read(out_, &c, 1) != 1) return {};
      if (c == '\n') return line;
      line += c;
    }
  }

  /// SIGKILL, as in a crash.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  /// Sends `sig` (e.g. SIGTERM) without waiting.
  void signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }

  /// Waits for a clean exit; returns the exit status (-1 if it did not exit in time).
  int wait(std::chrono::seconds limit = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      ::usleep(10000);
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int terminal_ = -1;  // the pseudo-terminal's controlling side
};

}  // namespace natscoro::test
