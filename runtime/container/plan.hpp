// What one run of a container is: plain data made from the spec and the
// command line, with no syscalls. Its mounts become a list of operations in
// mount_plan.hpp, which rootfs.cpp applies in order.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "elements/spec.hpp"

namespace elements::runtime {

struct bind_mount {
  std::string source;  // absolute host path, checked to exist
  std::string target;  // absolute path inside the container
  bool read_only = false;
};

struct plan {
  std::string name;               // ELEMENTS_NAME
  std::string instance;           // ELEMENTS_INSTANCE
  std::string id;                 // ELEMENTS_ID = NAME.INSTANCE
  std::vector<std::string> argv;  // the command, expanded, extra args appended
  std::vector<std::string> env;   // "NAME=value", the container's whole environment
  std::string workdir = "/";
  std::string hostname;
  user_mode user = user_mode::root;
  network_mode network = network_mode::host;
  writable_mode writable = writable_mode::none;
  bool resolv_conf = false;
  std::vector<bind_mount> binds;      // arg binds, then spec binds, in order
  std::optional<std::string> output;  // host path /out is moved to after exit
  bool shell = false;                 // --elements-shell: a shell instead of argv
  int ps1_color = 0;
};

}  // namespace elements::runtime
