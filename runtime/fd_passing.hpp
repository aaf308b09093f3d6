// Descriptors passed over unix sockets (SCM_RIGHTS), with a small message:
// fusermount3's /dev/fuse, the container's namespaces for its runtime, and
// those namespaces for an --elements-exec client.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "elements/unique_fd.hpp"

namespace elements::runtime {

// At most this many descriptors go in one message.
inline constexpr std::size_t max_passed_fds = 8;

// Sends `size` bytes of `data` (at least 1) with `fds`; false when the
// message did not go out whole. `flags` are sendmsg's (MSG_NOSIGNAL is added).
bool send_fds(int sock, const void* data, std::size_t size, std::span<const int> fds,
              int flags = 0);

// Receives a message of exactly `size` bytes into `data` with the
// descriptors it carries (close-on-exec); empty when the message was short,
// truncated or absent. `flags` are recvmsg's (MSG_CMSG_CLOEXEC is added).
std::vector<unique_fd> receive_fds(int sock, void* data, std::size_t size, int flags = 0);

}  // namespace elements::runtime
