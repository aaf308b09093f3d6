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

}  // namespace elements
