#include "runtime/mount/mount_path.hpp"

#include "elements/error.hpp"

namespace elements::runtime {

mount_request parse_mount_request(const std::optional<std::string>& value) {
  if (!value || value->empty()) return mount_request::automatic;
  if (*value == "kernel") return mount_request::kernel;
  if (*value == "fuse") return mount_request::fuse;
  if (*value == "extract") return mount_request::extract;
  throw error("ELEMENTS_MOUNT=" + *value +
              " is not a mount method (hint: use kernel, fuse or extract, or unset it)");
}

mount_path choose_mount_path(mount_request asked, bool privileged, bool fuse_usable,
                             bool has_payload) {
  if (asked == mount_request::kernel && !privileged)
    throw error("ELEMENTS_MOUNT=kernel needs root (hint: unset it to use FUSE)");
  mount_path path;
  if (!has_payload) {
    path.host_directory = true;
    return path;
  }
  switch (asked) {
    case mount_request::kernel:
      path.rungs = {mount_rung::kernel};
      break;
    case mount_request::fuse:
      path.fusermount = !privileged && !fuse_usable;
      path.rungs = {mount_rung::fuse};
      break;
    case mount_request::extract:
      path.rungs = {mount_rung::extract};
      break;
    case mount_request::automatic:
      if (privileged)
        path.rungs = {mount_rung::kernel, mount_rung::fuse, mount_rung::extract};
      else if (fuse_usable)
        path.rungs = {mount_rung::fuse, mount_rung::extract};
      else
        path.rungs = {mount_rung::extract};
      break;
  }
  return path;
}

}  // namespace elements::runtime
