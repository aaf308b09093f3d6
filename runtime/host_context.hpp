// What the runtime takes from its host: the environment, the working folder
// and the caller's ids, read once by main (read_host) and passed down, so
// that everything after it is a function of its inputs. The folders a run
// keeps its state in follow from it by one rule (folders_of).
// Public: part of the container library's interface (see container.hpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace elements::runtime {

struct host_context {
  std::vector<std::string> environ;  // "NAME=value"
  std::string cwd;                   // for relative paths
  std::string argv0;                 // how the file was called (ELEMENTS_ARGV0)
  unsigned uid = 0;
  unsigned gid = 0;
  // Root of the initial user namespace: may mount the kernel's way and needs
  // no user namespace. Root of any other one (`unshare -Ur`) has no rights
  // over the host's mounts and devices and runs the file as anyone else.
  bool privileged = false;
};

// Descriptors the caller left open without O_CLOEXEC would reach the
// container's command, a way out of it (a directory fd of the host, as in
// runc's CVE-2024-21626): none survives an exec of the runtime's.
void close_inherited_fds_on_exec();

// The process's own environment, working folder and ids.
host_context read_host(const char* argv0);

// The value of NAME in the host's environment.
std::optional<std::string> host_env(const host_context& host, std::string_view name);

// ELEMENTS_DEBUG set to anything but "" or "0".
bool debug_env(const host_context& host);

// Where a run keeps what outlives it, by the XDG Base Directory rules: a
// relative XDG_* is ignored, as the spec says, and so is a relative HOME.
struct host_folders {
  std::string data;     // ${XDG_DATA_HOME:-$HOME/.local/share}: "persist" layers; "" if none
  std::string cache;    // ${XDG_CACHE_HOME:-$HOME/.cache}: the extract cache; "" if none
  std::string runtime;  // $XDG_RUNTIME_DIR as given (checked where it is used)
  std::string temp;     // $TMPDIR when absolute, else /tmp
  std::string path;     // $PATH, or the default search path: where host tools are found
};

host_folders folders_of(const host_context& host);

// The data folder for "writable": "persist"; throws naming the fix when
// there is none.
const std::string& persist_base(const host_folders& folders);

// The cache folder for the extracted payload; throws naming the fix when
// there is none.
const std::string& extract_cache_base(const host_folders& folders);

}  // namespace elements::runtime
