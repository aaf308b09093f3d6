// The file that carries a payload, opened. Public: part of the container
// library's interface (see container.hpp).
#pragma once

#include <cstdint>
#include <string>

#include "elements/unique_fd.hpp"

namespace elements::runtime {

struct payload_file {
  unique_fd fd;          // opened O_RDONLY|O_CLOEXEC
  std::string path;      // absolute path, for messages and fusermount3
  std::uint64_t offset;  // where the squashfs starts
};

}  // namespace elements::runtime
