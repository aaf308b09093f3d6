// PID 1 of the container: starts the command, reaps zombies, forwards
// signals and exits with the command's status.
#pragma once

#include <csignal>
#include <string>

#include "plan.hpp"

namespace elements::runtime {

// The signals the runtime and its init forward to the command.
sigset_t forwarded_signals();

// The reason a command could not be started, sent from the command's process
// to init before it exits.
struct start_failure {
  int status = 0;  // 126 or 127
  std::string message;
};

// Forks the command and waits for it as PID 1. Returns the exit status for the
// runtime (the command's, or 128+N), or throws elements::error with status
// 126/127 when the command could not be executed.
// `close_when_started`, when not -1, is closed once the command runs: the
// channel its caller reports start failures on.
int run_init(const plan& p, int close_when_started = -1);

// Leaves the calling process (root of the host) a container's capabilities:
// the bounding, permitted and effective sets cut to what docker and podman
// give a container by default, ambient cleared.
void drop_capabilities();

// A new anonymous session keyring for the calling process (PID 1, a
// joiner): the caller's, with its secrets, stays out of the container.
void join_own_session_keyring();

}  // namespace elements::runtime
