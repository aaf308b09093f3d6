// PID 1 of the container: starts the command, reaps zombies, forwards
// signals and exits with the command's status.
#pragma once

#include "runtime/container/plan.hpp"

namespace elements::runtime {

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
