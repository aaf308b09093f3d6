#include "elements/private_dir.hpp"

#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "elements/error.hpp"

namespace elements {
namespace {

std::string small_file(const char* path) {
  char buf[256];
  unique_fd fd(::open(path, O_RDONLY | O_CLOEXEC));
  const ssize_t n = fd ? ::read(fd.get(), buf, sizeof buf) : -1;
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

// In a user namespace the host's root owns `/` and `/home`, but shows as the
// overflow uid there, like every id the namespace does not map.
bool unmapped_id(uid_t uid) {
  // strtoul, not sscanf: scanf would add some 80 KiB to the static runtime.
  const std::string map = small_file("/proc/self/uid_map");
  char* at = nullptr;
  const unsigned long inside = std::strtoul(map.c_str(), &at, 10);
  const unsigned long outside = std::strtoul(at, &at, 10);
  const unsigned long count = std::strtoul(at, &at, 10);
  if (inside == 0 && outside == 0 && count == 4294967295UL)
    return false;  // the initial namespace: every id is itself
  const std::string overflow = small_file("/proc/sys/kernel/overflowuid");
  return uid == (overflow.empty() ? 65534 : std::strtoul(overflow.c_str(), nullptr, 10));
}

// "uid 1002", or "another user" where the namespace cannot say who.
std::string owner_of(uid_t uid) {
  return unmapped_id(uid) ? "another user" : "uid " + std::to_string(uid);
}

std::string path_of(int fd, const std::string& fallback) {
  char buf[4096];
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
  return n > 0 && buf[0] == '/' ? std::string(buf, static_cast<std::size_t>(n)) : fallback;
}

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// Walks ".." from `fd` to `/`: the real path, whatever symlinks led there.
void check_path_to_root(unique_fd fd, const std::string& path, const std::string& hint) {
  const uid_t me = ::geteuid();
  for (;;) {
    struct stat st;
    check(::fstat(fd.get(), &st), "inspect", path);
    const bool owner_ok = st.st_uid == me || st.st_uid == 0 || unmapped_id(st.st_uid);
    // A group of the caller's own, as user private groups are (umask 002 on
    // Debian, Ubuntu and Fedora), lets in no one else.
    const bool own_group = st.st_uid == me && st.st_gid == ::getegid();
    const bool writable = (st.st_mode & S_IWOTH) || ((st.st_mode & S_IWGRP) && !own_group);
    const bool shared = writable && !(st.st_mode & S_ISVTX);
    if (!owner_ok || shared) {
      const std::string folder = path_of(fd.get(), "a folder above " + path);
      if (!owner_ok)
        throw error("cannot keep files under " + path + ": " + folder + " belongs to " +
                    owner_of(st.st_uid) + ", who could replace them (hint: " + hint + ")");
      throw error("cannot keep files under " + path + ": others can write to " + folder +
                  " (mode " + octal_mode(st.st_mode) +
                  ") and it is not sticky, so they could replace them (hint: chmod +t " + folder +
                  ", or " + hint + ")");
    }
    unique_fd up(::openat(fd.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!up) throw_errno("open the folders above", path);
    struct stat above;
    check(::fstat(up.get(), &above), "inspect the folders above", path);
    if (above.st_dev == st.st_dev && above.st_ino == st.st_ino) return;  // "/"
    fd = std::move(up);
  }
}

}  // namespace

unique_fd open_base_dir(const std::string& path, const std::string& hint, bool create) {
  if (path.empty() || path[0] != '/') throw error("not an absolute path: " + path);
  unique_fd fd(check(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), "open", "/"));
  for (std::size_t start = 1; start < path.size();) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string name = path.substr(start, end - start);
    const std::string prefix = path.substr(0, end);
    start = end + 1;
    if (name.empty() || name == ".") continue;
    unique_fd next(::openat(fd.get(), name.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!next && errno == ENOENT) {
      if (!create) return {};
      if (::mkdirat(fd.get(), name.c_str(), 0700) != 0 && errno != EEXIST)
        throw_errno("create", prefix);
      next.reset(::openat(fd.get(), name.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    }
    if (!next) throw_errno("open", prefix);
    fd = std::move(next);
  }
  check_path_to_root(unique_fd(check(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0), "open", path)), path,
                     hint);
  return fd;
}

void check_private(int fd, const std::string& shown, const std::string& hint) {
  struct stat st;
  check(::fstat(fd, &st), "inspect", shown);
  if (st.st_uid != ::geteuid())
    throw error(shown + " belongs to " + owner_of(st.st_uid) +
                ", not to you, so what it holds cannot be trusted (hint: " + hint + ")");
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    throw error(shown + " can be written by others (mode " + octal_mode(st.st_mode) +
                "), so what it holds cannot be trusted (hint: chmod go-w " + shown + ", or " +
                hint + ")");
}

unique_fd open_private_dir(int parent, const std::string& name, const std::string& shown,
                           const std::string& hint, bool create, int flags) {
  // One component with O_NOFOLLOW: what RESOLVE_NO_SYMLINKS gives a longer path.
  const int how = flags | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  unique_fd fd(::openat(parent, name.c_str(), how));
  if (!fd && errno == ENOENT && create) {
    if (::mkdirat(parent, name.c_str(), 0700) != 0 && errno != EEXIST) throw_errno("create", shown);
    fd.reset(::openat(parent, name.c_str(), how));
  }
  if (!fd) {
    if (errno == ENOENT && !create) return {};
    if (errno == ELOOP || errno == ENOTDIR)
      throw error(shown + " is a symlink or not a folder, and elements keeps its files only in " +
                  "a folder of your own (hint: remove it, or " + hint + ")");
    throw_errno("open", shown);
  }
  check_private(fd.get(), shown, hint);
  return fd;
}

std::string make_temp_dir_at(int parent, std::string_view prefix, mode_t mode,
                             const std::string& shown) {
  static constexpr char letters[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  for (int attempt = 0; attempt < 100; ++attempt) {
    unsigned char random[8];
    if (::getrandom(random, sizeof random, 0) != static_cast<ssize_t>(sizeof random))
      throw_errno("create a temporary folder in", shown);
    std::string name(prefix);
    for (unsigned char r : random) name += letters[r % (sizeof letters - 1)];
    if (::mkdirat(parent, name.c_str(), mode) == 0) return name;
    if (errno != EEXIST) throw_errno("create a temporary folder in", shown);
  }
  throw error("cannot create a temporary folder in " + shown + ": every name tried exists");
}

unique_fd open_temp_parent(const std::string& path) {
  unique_fd fd = open_base_dir(path, "set TMPDIR to a folder of your own", false);
  if (!fd)
    throw error("the temporary folder " + path +
                " does not exist (hint: create it, or set TMPDIR to a folder that exists)");
  return fd;
}

std::string make_temp_dir(const std::string& parent, std::string_view prefix) {
  const unique_fd fd = open_temp_parent(parent);
  const std::string name = make_temp_dir_at(fd.get(), prefix, 0700, parent);
  return (parent.ends_with('/') ? parent : parent + "/") + name;
}

}  // namespace elements
