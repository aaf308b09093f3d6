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
int run_init(const plan& p);

}  // namespace elements::runtime
