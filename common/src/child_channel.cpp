#include "elements/child_channel.hpp"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "elements/error.hpp"

namespace elements {
namespace {

struct header {
  std::int32_t code;
  std::int32_t err;
  std::uint32_t size;
};

// Reads up to n bytes, fewer only when the other end is closed.
std::size_t read_full(int fd, void* to, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::read(fd, static_cast<char*>(to) + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  return got;
}

}  // namespace

child_channel::child_channel() {
  int fds[2];
  check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), "create", "a socket pair");
  receive_.reset(fds[0]);
  send_.reset(fds[1]);
}

std::optional<child_report> child_channel::receive() {
  const unique_fd fd = std::move(receive_);
  header h{};
  if (read_full(fd.get(), &h, sizeof h) != sizeof h) return std::nullopt;
  child_report r{h.code, h.err, std::string(h.size, '\0')};
  r.message.resize(read_full(fd.get(), r.message.data(), h.size));
  return r;
}

void send_child_report(int fd, int code, int err, std::string_view message) noexcept {
  header h{code, err, static_cast<std::uint32_t>(message.size())};
  iovec parts[2] = {{&h, sizeof h}, {const_cast<char*>(message.data()), message.size()}};
  msghdr m{};
  m.msg_iov = parts;
  m.msg_iovlen = 2;
  // MSG_NOSIGNAL: a parent that closed its end gets no report, and the
  // child no SIGPIPE.
  ssize_t r;
  do r = ::sendmsg(fd, &m, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
}

}  // namespace elements
