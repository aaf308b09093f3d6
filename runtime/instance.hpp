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
void accept_exec_client(int listener);

// --elements-exec ID -- CMD...: runs CMD inside the running instance `id`
// (its namespaces, root, working directory and environment) and returns its
// exit status.
int exec_in_instance(const std::string& id, const std::vector<std::string>& argv);

}  // namespace elements::runtime
