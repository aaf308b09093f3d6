// Serving the payload on a mounted /dev/fuse connection from a thread of
// this process: the kernel's FUSE protocol answered straight from
// libsquashfuse. Internal to runtime/.
//
// The protocol is spoken here rather than through libfuse: a static libfuse3
// drags in its high-level API, dlopen and iconv (about 380 KiB of the
// runtime's 1.5 MiB budget), and a read-only filesystem needs only a dozen
// requests.
#pragma once

#include <cstdint>
#include <memory>

#include "runtime/mount/squash_mount.hpp"

namespace elements::runtime {

// Throws unless this process may still start the serving thread: once
// unshare(CLONE_NEWPID) has given its children another PID namespace than
// its own, the kernel refuses new threads (EINVAL).
void require_thread_possible();

class fuse_server {
 public:
  // Starts serving `file` on `connection`, a /dev/fuse fd that is already
  // mounted. Files the image gives to uid/gid 0 are shown as owned by
  // `root_uid`/`root_gid` (ids as the mount's user namespace sees them). The
  // serving thread blocks every signal.
  fuse_server(const payload_file& file, unique_fd connection, std::uint32_t root_uid = 0,
              std::uint32_t root_gid = 0);
  fuse_server(const fuse_server&) = delete;
  fuse_server& operator=(const fuse_server&) = delete;
  // Stops the thread and closes the connection: the kernel then fails every
  // further access with ENOTCONN instead of blocking.
  ~fuse_server();

 private:
  struct state;
  std::unique_ptr<state> s_;
};

}  // namespace elements::runtime
