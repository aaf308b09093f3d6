#include "elements/read_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "elements/error.hpp"
#include "elements/unique_fd.hpp"

namespace elements {

std::string read_file(const std::string& path) {
  unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_errno("read", path);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof buf)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("read", path);
    }
    text.append(buf, static_cast<std::size_t>(n));
  }
  return text;
}

std::string read_from_start(int fd, const std::string& name) {
  std::string text;
  char buf[4096];
  for (off_t at = 0;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read", name);
    if (n == 0) return text;
    text.append(buf, static_cast<std::size_t>(n));
    at += n;
  }
}

}  // namespace elements
