// Descriptors handed between processes over a unix socket (SCM_RIGHTS):
// fusermount3's FUSE connection, a container's namespaces; and the one way
// a process that leaves the host's view closes the rest.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string_view>
#include <vector>

#include "elements/unique_fd.hpp"

namespace elements::runtime {

// Sends `data` (at least one byte) with `fds` attached; false unless the
// peer took all of it.
bool send_fds(int sock, std::string_view data, const std::vector<int>& fds, int flags = 0);

// Reads up to `size` bytes into `buf` and the descriptors attached to them
// (close-on-exec) into `fds`; returns the byte count (0: the peer closed
// without sending), or -1 when the read failed or more than `max_fds`
// descriptors came.
ssize_t receive_fds(int sock, char* buf, std::size_t size, std::vector<unique_fd>& fds,
                    std::size_t max_fds);

// Closes every descriptor above 2 except `keep` (close_range, or one by one
// before Linux 5.9).
void close_all_except(std::vector<int> keep);

}  // namespace elements::runtime
