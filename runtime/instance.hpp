// Running instances: one name per user, held by an abstract unix socket
// that the kernel releases when the runtime ends, however it ends, so no
// state file can outlive a run.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "elements/unique_fd.hpp"

namespace elements::runtime {

// Claims ELEMENTS_ID `id` for the calling user; throws elements::error when
// a running container holds it. The returned socket listens for
// --elements-exec clients; accept_exec_client() keeps its queue empty.
unique_fd claim_instance(const std::string& id);

// The container's namespaces, as the runtime holds them for --elements-exec
// clients: a joiner gets them from the runtime it verified, never by opening
// /proc/PID/ns of a process the container could have put there (init is not
// dumpable, so its /proc entries are closed to the caller as well).
struct instance_namespaces {
  std::vector<std::pair<int, unique_fd>> fds;  // CLONE_NEW* type, namespace fd
  pid_t init = 0;                              // the container's PID 1, in the host's PID namespace
};

// Answers every waiting --elements-exec client with `ns`, or turns it away
// while `ns` is still empty (the container is not started yet).
void accept_exec_client(int listener, const instance_namespaces& ns);

// --elements-exec ID -- CMD...: runs CMD inside the running instance `id`
// (its namespaces, root, working directory and environment) and returns its
// exit status.
int exec_in_instance(const std::string& id, const std::vector<std::string>& argv);

}  // namespace elements::runtime
