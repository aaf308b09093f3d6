// The one loop that waits for a child while passing the caller's signals on
// to it: the runtime waiting for the container, init for the command, the
// runtime for an OCI runtime. The signals are blocked and taken as they
// queue, so no handler runs and none is lost between two waits.
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <csignal>
#include <functional>
#include <vector>

namespace elements::runtime {

// The signals the runtime and its init forward to the command; SIGCHLD ends
// the wait. The caller blocks them before it forks.
sigset_t forwarded_signals();

// Which children a wait reaps: PID 1 reaps every orphan that ends in its
// namespace; others only their own child.
enum class reap { child, all };

// A descriptor watched beside the signals. `fd` is asked again before each
// wait (-1: not watched now); `ready` runs with its revents when they are set.
struct watched_fd {
  std::function<int()> fd;
  std::function<void(short revents)> ready;
};

// Forwards each of `signals` but SIGCHLD to `child`, except a terminal's
// (SI_KERNEL), which reach its process group directly and would arrive
// twice. Returns the child's exit status (status_of) once it has ended.
int forward_signals_until_exit(pid_t child, const sigset_t& signals, reap which,
                               const std::vector<watched_fd>& extra = {});

}  // namespace elements::runtime
