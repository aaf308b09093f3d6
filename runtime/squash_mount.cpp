#include "squash_mount.hpp"

#include "elements/error.hpp"

namespace elements::runtime {

const char* to_string(mount_method m) {
  switch (m) {
    case mount_method::kernel: return "kernel";
    case mount_method::fuse: return "fuse";
    case mount_method::extract: return "extract";
    case mount_method::directory: return "directory";
  }
  return "?";
}

}  // namespace elements::runtime
