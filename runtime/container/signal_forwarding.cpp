#include "runtime/container/signal_forwarding.hpp"

#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elements/error.hpp"
#include "elements/process.hpp"
#include "elements/unique_fd.hpp"

namespace elements::runtime {

sigset_t forwarded_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD})
    sigaddset(&set, sig);
  return set;
}

namespace {

struct taken_signal {
  int signo = 0;
  int code = 0;
};

// The next of `signals`, serving `extra` while it waits. Without extra
// descriptors it opens none: PID 1 holds only stdio, for the container's
// processes to see in /proc/1/fd.
class signal_source {
 public:
  signal_source(const sigset_t& signals, const std::vector<watched_fd>& extra)
      : signals_(signals), extra_(extra), fds_(1 + extra.size()) {
    if (!extra_.empty())
      sfd_.reset(check(::signalfd(-1, &signals, SFD_CLOEXEC), "watch", "signals"));
  }

  // Nothing (signo 0) when only a descriptor was served or the wait failed.
  taken_signal next() {
    if (extra_.empty()) {
      siginfo_t si{};
      const int sig = ::sigwaitinfo(&signals_, &si);
      return sig < 0 ? taken_signal{} : taken_signal{sig, si.si_code};
    }
    fds_[0] = {sfd_.get(), POLLIN, 0};
    for (std::size_t i = 0; i < extra_.size(); ++i) fds_[i + 1] = {extra_[i].fd(), POLLIN, 0};
    if (::poll(fds_.data(), fds_.size(), -1) < 0) return {};
    for (std::size_t i = 0; i < extra_.size(); ++i)
      if (fds_[i + 1].revents) extra_[i].ready(fds_[i + 1].revents);
    if (!(fds_[0].revents & POLLIN)) return {};
    signalfd_siginfo si{};
    if (::read(sfd_.get(), &si, sizeof si) != sizeof si) return {};
    return {static_cast<int>(si.ssi_signo), si.ssi_code};
  }

 private:
  const sigset_t& signals_;
  const std::vector<watched_fd>& extra_;
  std::vector<pollfd> fds_;
  unique_fd sfd_;
};

}  // namespace

int forward_signals_until_exit(pid_t child, const sigset_t& signals, reap which,
                               const std::vector<watched_fd>& extra) {
  signal_source source(signals, extra);
  for (;;) {
    const taken_signal sig = source.next();
    if (sig.signo == 0) continue;
    if (sig.signo != SIGCHLD) {
      if (sig.code != SI_KERNEL) ::kill(child, sig.signo);
      continue;
    }
    int wstatus;
    if (which == reap::child) {
      if (::waitpid(child, &wstatus, WNOHANG) == child) return status_of(wstatus);
      continue;
    }
    // When the command ends, so does the container: returning from PID 1
    // makes the kernel kill whatever else is left in its namespace.
    pid_t pid;
    while ((pid = ::waitpid(-1, &wstatus, WNOHANG)) > 0)
      if (pid == child) return status_of(wstatus);
  }
}

}  // namespace elements::runtime
