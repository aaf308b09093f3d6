#include "instance.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "debug_log.hpp"
#include "elements/error.hpp"
#include "elements/read_file.hpp"
#include "init.hpp"

namespace elements::runtime {
namespace {

constexpr std::size_t max_id_length = 80;

// $XDG_RUNTIME_DIR when it is what the XDG Base Directory spec requires:
// the caller's own, with no access for group or others.
unique_fd usable_runtime_dir(const char* path) {
  if (!path || *path != '/') return {};
  unique_fd fd(::open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || st.st_uid != ::geteuid() || (st.st_mode & 077) != 0)
    return {};
  return fd;
}

// The registry folder, made 0700 if missing and opened without following a
// symlink; refused unless it is a directory of the caller's that group and
// others cannot write. `path` is its name, for messages.
unique_fd open_registry(std::string& path) {
  const uid_t uid = ::geteuid();
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  unique_fd parent = usable_runtime_dir(xdg);
  std::string name;
  if (parent) {
    path = xdg;
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    name = "elements";
    path += (path == "/" ? "" : "/") + name;
  } else {
    parent.reset(check(::open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC), "open", "/tmp"));
    name = "elements-" + std::to_string(uid);
    path = "/tmp/" + name;
  }
  if (::mkdirat(parent.get(), name.c_str(), 0700) != 0 && errno != EEXIST)
    throw_errno("create the instance folder", path);
  const std::string hint =
      " (hint: remove it, or set XDG_RUNTIME_DIR to a folder of your own with mode 0700)";
  unique_fd dir(
      ::openat(parent.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) {
    if (errno == ELOOP || errno == ENOTDIR)
      throw error("the instance folder " + path + " is a symlink or not a folder" + hint);
    throw_errno("open the instance folder", path);
  }
  struct stat st {};
  check(::fstat(dir.get(), &st), "inspect the instance folder", path);
  if (st.st_uid != uid)
    throw error("the instance folder " + path + " belongs to uid " + std::to_string(st.st_uid) +
                ", not to you" + hint);
  if (st.st_mode & 022) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw error("the instance folder " + path + " is writable by group or others (mode " + mode +
                ") (hint: chmod 0700 " + path + ")");
  }
  debug::step("instance folder " + path);
  return dir;
}

// ID.sock reached through the folder's descriptor: no path of the host is
// looked up again between the checks above and the bind or connect.
sockaddr_un socket_address(int dir, const std::string& id, socklen_t& len) {
  if (id.size() > max_id_length)
    throw usage_error("instance name \"" + id + "\" is too long (hint: use at most 80 characters)");
  const std::string path = "/proc/self/fd/" + std::to_string(dir) + "/" + id + ".sock";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() + 1 > sizeof addr.sun_path)
    throw error("instance name \"" + id + "\" is too long for a socket path");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return addr;
}

std::string already_running(const std::string& id) {
  return "an instance named \"" + id +
         "\" is already running (hint: choose another instance name, or use --elements-exec " + id +
         " -- CMD to run a command in it)";
}

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// The first child of `pid`: the runtime's container init, or init's command.
pid_t first_child(pid_t pid) {
  std::string children =
      read_file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  return static_cast<pid_t>(std::atoi(children.c_str()));
}

}  // namespace

instance_claim::instance_claim(const std::string& id) : id_(id), owner_(::getpid()) {
  std::string where;
  dir_ = open_registry(where);
  socklen_t len;
  const sockaddr_un addr = socket_address(dir_.get(), id, len);
  const std::string lock_name = id + ".lock", socket_name = id + ".sock";
  // A runtime that ends removes ID.lock while it holds it; one that opened
  // the file just before finds, once it has the lock, that the name now
  // leads elsewhere, and opens it again.
  for (int attempt = 0; !lock_; ++attempt) {
    unique_fd lock(
        ::openat(dir_.get(), lock_name.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!lock) throw_errno("create", where + "/" + lock_name);
    if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) throw error(already_running(id));
      throw_errno("lock", where + "/" + lock_name);
    }
    struct stat held {
    }, named{};
    check(::fstat(lock.get(), &held), "inspect", where + "/" + lock_name);
    if (::fstatat(dir_.get(), lock_name.c_str(), &named, AT_SYMLINK_NOFOLLOW) == 0 &&
        same_file(held, named))
      lock_ = std::move(lock);
    else if (attempt == 100)
      throw error("cannot claim the instance name \"" + id + "\": " + where + "/" + lock_name +
                  " keeps changing (hint: is another program removing files in " + where + "?)");
  }
  try {
    // The name is ours: a socket left by a runtime that was killed goes.
    if (::unlinkat(dir_.get(), socket_name.c_str(), 0) != 0 && errno != ENOENT)
      throw_errno("remove", where + "/" + socket_name);
    listener_.reset(check(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), "open",
                          "a socket"));
    // Only the caller may connect, whatever the folder's mode. Nothing else
    // runs yet, so the process-wide umask is safe to change around bind().
    const mode_t old_mask = ::umask(077);
    const int bound = ::bind(listener_.get(), reinterpret_cast<const sockaddr*>(&addr), len);
    ::umask(old_mask);
    check(bound, "create", where + "/" + socket_name);
    check(::listen(listener_.get(), 8), "listen on", where + "/" + socket_name);
  } catch (...) {
    ::unlinkat(dir_.get(), socket_name.c_str(), 0);
    ::unlinkat(dir_.get(), lock_name.c_str(), 0);
    throw;
  }
}

instance_claim::~instance_claim() {
  if (!dir_ || ::getpid() != owner_) return;
  // Removed while the lock is still held (see the constructor).
  ::unlinkat(dir_.get(), (id_ + ".sock").c_str(), 0);
  ::unlinkat(dir_.get(), (id_ + ".lock").c_str(), 0);
}

void instance_claim::close_in_child() {
  owner_ = -1;
  dir_.reset();
  lock_.reset();
  listener_.reset();
}

void instance_claim::answer_clients() {
  for (;;) {
    int c = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    ::close(c);
  }
}

int exec_in_instance(const std::string& id, const std::vector<std::string>& argv) {
  std::string where;
  unique_fd dir = open_registry(where);
  socklen_t len;
  const sockaddr_un addr = socket_address(dir.get(), id, len);
  unique_fd s(check(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "open", "a socket"));
  if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&addr), len) != 0)
    throw error("no running instance named \"" + id +
                "\" (hint: ELEMENTS_ID is NAME.INSTANCE; start "
                "the file first, with its instance option if it has one)");
  ucred cred{};
  socklen_t cl = sizeof cred;
  check(::getsockopt(s.get(), SOL_SOCKET, SO_PEERCRED, &cred, &cl), "identify", "the instance");
  if (cred.uid != ::geteuid()) throw error("instance \"" + id + "\" belongs to another user");
  s.reset();
  dir.reset();

  const pid_t init = first_child(cred.pid);
  const pid_t command = init > 0 ? first_child(init) : 0;
  if (init <= 0 || command <= 0)
    throw error("instance \"" + id + "\" is not running a command yet");
  const std::string proc = "/proc/" + std::to_string(init);

  // Its environment and working directory, read before leaving the host's view.
  std::vector<std::string> env;
  std::string environ_text = read_file("/proc/" + std::to_string(command) + "/environ");
  for (std::size_t i = 0; i < environ_text.size();) {
    std::size_t end = environ_text.find('\0', i);
    if (end == std::string::npos) end = environ_text.size();
    if (end > i) env.emplace_back(environ_text.substr(i, end - i));
    i = end + 1;
  }
  char cwd[4096];
  ssize_t n =
      ::readlink(("/proc/" + std::to_string(command) + "/cwd").c_str(), cwd, sizeof cwd - 1);
  std::string workdir = n > 0 ? std::string(cwd, static_cast<std::size_t>(n)) : "/";

  // The user namespace first: it grants the rights to join the others.
  std::vector<std::pair<const char*, int>> order = {{"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC},
                                                    {"uts", CLONE_NEWUTS},   {"net", CLONE_NEWNET},
                                                    {"pid", CLONE_NEWPID},   {"mnt", CLONE_NEWNS}};
  std::vector<std::pair<unique_fd, int>> fds;
  for (auto [name, type] : order) {
    std::string own = std::string("/proc/self/ns/") + name, theirs = proc + "/ns/" + name;
    struct stat a {
    }, b{};
    if (::stat(own.c_str(), &a) == 0 && ::stat(theirs.c_str(), &b) == 0 && a.st_ino == b.st_ino)
      continue;
    fds.emplace_back(unique_fd(check(::open(theirs.c_str(), O_RDONLY | O_CLOEXEC), "open", theirs)),
                     type);
  }
  for (auto& [fd, type] : fds)
    check(::setns(fd.get(), type), "join the namespaces of instance", id);

  plan p;
  p.argv = argv;
  p.env = std::move(env);
  p.workdir = workdir;
  check(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "set", "no_new_privs");
  // Joining a PID namespace applies to children: run_init forks the command.
  const sigset_t signals = forwarded_signals();
  check(::sigprocmask(SIG_BLOCK, &signals, nullptr), "block", "signals");
  return run_init(p);
}

}  // namespace elements::runtime
