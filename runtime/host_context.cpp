#include "runtime/host_context.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elements/error.hpp"
#include "elements/process.hpp"

extern char** environ;

namespace elements::runtime {
namespace {

// The initial user namespace has a fixed inode number (PROC_USER_INIT_INO).
bool in_initial_user_namespace() {
  struct stat st {};
  if (::stat("/proc/self/ns/user", &st) != 0) return true;  // no /proc: assume the host's
  return st.st_ino == 0xEFFFFFFDU;
}

// An absolute `xdg`, else HOME + `below` when HOME is absolute, else "".
std::string xdg_folder(const host_context& host, std::string_view xdg, std::string_view below) {
  if (auto v = host_env(host, xdg); v && v->starts_with('/')) return *v;
  if (auto home = host_env(host, "HOME"); home && home->starts_with('/'))
    return *home + std::string(below);
  return {};
}

}  // namespace

void close_inherited_fds_on_exec() {
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  // Before Linux 5.11: one by one.
  for (int fd = 3, max = static_cast<int>(::sysconf(_SC_OPEN_MAX)); fd < max; ++fd) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
}

host_context read_host(const char* argv0) {
  host_context host;
  for (char** e = environ; *e; ++e) host.environ.emplace_back(*e);
  char cwd[4096];
  host.cwd = ::getcwd(cwd, sizeof cwd) ? cwd : "/";
  host.argv0 = argv0 ? argv0 : "";
  host.uid = ::getuid();
  host.gid = ::getgid();
  host.privileged = ::geteuid() == 0 && in_initial_user_namespace();
  return host;
}

std::optional<std::string> host_env(const host_context& host, std::string_view name) {
  for (const auto& e : host.environ)
    if (e.size() > name.size() && e[name.size()] == '=' && e.compare(0, name.size(), name) == 0)
      return e.substr(name.size() + 1);
  return std::nullopt;
}

bool debug_env(const host_context& host) {
  auto v = host_env(host, "ELEMENTS_DEBUG");
  return v && !v->empty() && *v != "0";
}

host_folders folders_of(const host_context& host) {
  host_folders f;
  f.data = xdg_folder(host, "XDG_DATA_HOME", "/.local/share");
  f.cache = xdg_folder(host, "XDG_CACHE_HOME", "/.cache");
  f.runtime = host_env(host, "XDG_RUNTIME_DIR").value_or("");
  auto tmp = host_env(host, "TMPDIR");
  f.temp = tmp && tmp->starts_with('/') ? *tmp : "/tmp";
  const auto path = host_env(host, "PATH");
  f.path = path_or_default(path ? path->c_str() : nullptr);
  return f;
}

const std::string& persist_base(const host_folders& folders) {
  if (folders.data.empty())
    throw error("\"writable\": \"persist\" needs HOME or XDG_DATA_HOME to keep its files");
  return folders.data;
}

const std::string& extract_cache_base(const host_folders& folders) {
  if (folders.cache.empty())
    throw error(
        "cannot extract the payload: neither XDG_CACHE_HOME nor HOME is set, so there is no "
        "cache directory (hint: set XDG_CACHE_HOME to a directory with room for the payload)");
  return folders.cache;
}

}  // namespace elements::runtime
