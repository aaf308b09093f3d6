// The signal-forwarding loop with real children: a signal sent to the
// caller reaches the child, the child's exit status comes back, a watched
// descriptor is served while waiting, and PID 1's variant reaps others.

#include "runtime/container/signal_forwarding.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

using namespace elements::runtime;

namespace {

// The forwarded signals blocked for the scope's length, as the runtime
// blocks them before it forks.
class blocked_signals {
 public:
  blocked_signals() : set_(forwarded_signals()) {
    REQUIRE(::sigprocmask(SIG_BLOCK, &set_, &old_) == 0);
  }
  ~blocked_signals() { ::sigprocmask(SIG_SETMASK, &old_, nullptr); }
  blocked_signals(const blocked_signals&) = delete;
  blocked_signals& operator=(const blocked_signals&) = delete;
  const sigset_t& set() const { return set_; }

 private:
  sigset_t set_, old_;
};

extern "C" void exit_on_signal(int sig) {
  ::_exit(sig == SIGUSR1 ? 42 : 1);
}

// A child that ends with 42 once SIGUSR1 reaches it and never otherwise.
pid_t start_waiting_child() {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::signal(SIGUSR1, exit_on_signal);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);  // a signal queued by now arrives here
    for (;;) ::pause();
  }
  return pid;
}

}  // namespace

TEST_CASE("signal loop: a signal to the caller reaches the child") {
  blocked_signals blocked;
  const pid_t child = start_waiting_child();
  REQUIRE(::kill(::getpid(), SIGUSR1) == 0);
  CHECK(forward_signals_until_exit(child, blocked.set(), reap::child) == 42);
}

TEST_CASE("signal loop: a child ended by a signal gives 128 plus it") {
  blocked_signals blocked;
  const pid_t child = start_waiting_child();
  REQUIRE(::kill(child, SIGKILL) == 0);
  CHECK(forward_signals_until_exit(child, blocked.set(), reap::child) == 128 + SIGKILL);
}

TEST_CASE("signal loop: watched descriptors are served while the child runs") {
  blocked_signals blocked;
  int p[2];
  REQUIRE(::pipe(p) == 0);
  int read_end = p[0];
  std::fflush(nullptr);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(p[0]);
    (void)!::write(p[1], "hello", 5);
    ::close(p[1]);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGTERM, SIG_DFL);
    for (;;) ::pause();
  }
  ::close(p[1]);
  std::string got;
  // The child ends only when the descriptor's end has been seen.
  const int status = forward_signals_until_exit(child, blocked.set(), reap::child,
                                                {{[&] { return read_end; },
                                                  [&](short) {
                                                    char buf[16];
                                                    const ssize_t n =
                                                        ::read(read_end, buf, sizeof buf);
                                                    if (n > 0)
                                                      got.append(buf, static_cast<std::size_t>(n));
                                                    if (n > 0) return;
                                                    ::close(read_end);
                                                    read_end = -1;  // no longer watched
                                                    ::kill(child, SIGTERM);
                                                  }}});
  CHECK(status == 128 + SIGTERM);
  CHECK(got == "hello");
  CHECK(read_end == -1);
}

TEST_CASE("signal loop: reap::all reaps other children and returns the child's status") {
  blocked_signals blocked;
  std::fflush(nullptr);
  const pid_t other = ::fork();
  REQUIRE(other >= 0);
  if (other == 0) ::_exit(9);
  // A zombie before the child starts: the older child, found first.
  siginfo_t info{};
  REQUIRE(::waitid(P_PID, static_cast<id_t>(other), &info, WEXITED | WNOWAIT) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) ::_exit(5);
  CHECK(forward_signals_until_exit(child, blocked.set(), reap::all) == 5);
  // The other child was reaped on the way: nothing is left to wait for.
  CHECK(::waitpid(other, nullptr, WNOHANG) < 0);
}
