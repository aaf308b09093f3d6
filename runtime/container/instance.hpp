// Running instances: one name per user, in a registry only that user can
// reach. The registry is the folder $XDG_RUNTIME_DIR/elements (when that
// directory is the caller's own, mode 0700) or /tmp/elements-UID, opened
// without following symlinks and refused unless it is a directory of the
// caller's that group and others cannot write. Per instance it holds
// ID.lock, flock()ed for the whole run, so a runtime killed by SIGKILL
// leaves no claim (the kernel drops the lock with the process), and the
// path socket ID.sock that --elements-exec connects to. The runtime hands a
// verified client the container's namespaces over that socket, so the
// joiner never joins namespaces it found by a pid. Nothing here is an
// abstract socket, whose names any user and any container on the host
// network could take.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "elements/unique_fd.hpp"
#include "runtime/container/plan.hpp"

namespace elements::runtime {

class instance_claim {
 public:
  // Claims ELEMENTS_ID `id` for the calling user; throws elements::error when
  // a running container holds it or the registry is not the caller's own.
  // `runtime_dir` is $XDG_RUNTIME_DIR (host_folders::runtime), "" if unset.
  instance_claim(const std::string& id, const std::string& runtime_dir);
  ~instance_claim();
  instance_claim(const instance_claim&) = delete;
  instance_claim& operator=(const instance_claim&) = delete;

  // The end of a socket pair the container's init sends its namespaces on
  // (send_container_namespaces); what --elements-exec gets with them comes
  // from `p`: the environment and working directory the command started with.
  unique_fd open_channel(const plan& p);
  // In a child after fork: drops every descriptor without touching the
  // registry, which stays the parent's.
  void close_in_child();

  // For poll(): the socket --elements-exec connects to, and the channel
  // (-1 once the namespaces arrived).
  int listener() const { return listener_.get(); }
  int channel() const { return channel_.get(); }
  // Takes init's namespaces off the channel when it is readable.
  void receive_namespaces();
  // Answers the clients waiting on the socket; a client that comes before
  // the command runs gets nothing and is told so.
  void answer_clients();

 private:
  std::string id_;
  pid_t owner_ = -1;  // the process that claimed, the only one that cleans up
  unique_fd dir_, lock_, listener_, channel_;
  std::vector<unique_fd> namespaces_;
  std::string view_;  // workdir, then the environment, NUL-separated
};

// In the container's init, once its namespaces and root are final: sends
// them to the runtime over `channel` and closes it.
void send_container_namespaces(unique_fd channel);

// --elements-exec ID -- CMD...: runs CMD inside the running instance `id`
// (its namespaces, root, working directory and environment) and returns its
// exit status.
int exec_in_instance(const std::string& id, const std::vector<std::string>& argv,
                     const std::string& runtime_dir);

}  // namespace elements::runtime
