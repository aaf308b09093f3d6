#include "elements/error.hpp"

#include <cstring>

namespace elements {

std::string_view errno_hint(int err, std::string_view what) {
  switch (err) {
    case EPERM:
      if (what.find("user namespace") != std::string_view::npos)
        return "unprivileged user namespaces are disabled; enable them with "
               "'sysctl kernel.unprivileged_userns_clone=1' or, on Ubuntu, "
               "'sysctl kernel.apparmor_restrict_unprivileged_userns=0'";
      return "the kernel refused this in the current namespace; run as root or allow "
             "unprivileged user namespaces";
    case EACCES:
      return "check the permissions of the path";
    case ENOENT:
      return "the path does not exist";
    case ENOSPC:
      return "the disk or a namespace limit is full";
    case ENODEV:
      return "the kernel lacks this filesystem or device";
    default:
      return {};
  }
}

void throw_errno(std::string_view what, std::string_view path, int err, source_location where) {
  std::string msg = "cannot ";
  msg += what;
  if (!path.empty()) {
    msg += ' ';
    msg += path;
  }
  msg += ": ";
  msg += std::strerror(err);
  if (auto hint = errno_hint(err, what); !hint.empty()) {
    msg += " (hint: ";
    msg += hint;
    msg += ')';
  }
  throw error(msg, exit_start_failed, std::error_code(err, std::generic_category()), where);
}

}  // namespace elements
