// Running part of a test in a forked child, for work that must not change
// the test process itself: credentials, seccomp filters, mounts, namespaces.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <functional>
#include <string>

namespace test_child {

struct outcome {
  int status = -1;      // the child's exit status; -1 when a signal ended it
  int wait_status = 0;  // as waitpid gave it
  std::string output;   // what the child wrote to the descriptor it was given
};

// Forks, runs `body` in the child with the write end of a pipe and exits
// with what it returns; the parent collects what was written and the status.
inline outcome run(const std::function<int(int out)>& body) {
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  std::fflush(nullptr);  // buffered output would be written twice
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(pipe_fds[0]);
    ::_exit(body(pipe_fds[1]));
  }
  ::close(pipe_fds[1]);
  outcome r;
  char buf[1024];
  for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;)
    r.output.append(buf, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  ::waitpid(pid, &r.wait_status, 0);
  if (WIFEXITED(r.wait_status)) r.status = WEXITSTATUS(r.wait_status);
  return r;
}

// Writes `text` whole to `fd` (in a child, before it exits).
inline void put(int fd, const std::string& text) {
  (void)!::write(fd, text.data(), text.size());
}

}  // namespace test_child
