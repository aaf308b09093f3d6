#include "runtime/container/instance.hpp"

#include <fcntl.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "elements/error.hpp"
#include "runtime/container/fd_passing.hpp"
#include "runtime/container/init.hpp"
#include "runtime/container/signal_forwarding.hpp"
#include "runtime/debug_log.hpp"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77  // Linux 6.5
#endif

namespace elements::runtime {
namespace {

// The namespaces --elements-exec joins, in the order it joins them: the user
// namespace first, since it grants the rights to join the others.
struct namespace_kind {
  const char* name;
  int type;
};
constexpr std::array<namespace_kind, 6> joined = {{{"user", CLONE_NEWUSER},
                                                   {"ipc", CLONE_NEWIPC},
                                                   {"uts", CLONE_NEWUTS},
                                                   {"net", CLONE_NEWNET},
                                                   {"pid", CLONE_NEWPID},
                                                   {"mnt", CLONE_NEWNS}}};

constexpr std::size_t max_id_length = 80;

// $XDG_RUNTIME_DIR when it is what the XDG Base Directory spec requires:
// the caller's own, with no access for group or others.
unique_fd usable_runtime_dir(const std::string& path) {
  if (!path.starts_with('/')) return {};
  unique_fd fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || st.st_uid != ::geteuid() || (st.st_mode & 077) != 0)
    return {};
  return fd;
}

// The registry folder, made 0700 if missing and opened without following a
// symlink; refused unless it is a directory of the caller's that group and
// others cannot write. `path` is its name, for messages.
unique_fd open_registry(const std::string& xdg, std::string& path) {
  const uid_t uid = ::geteuid();
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

// Reads up to `size` bytes and exactly joined.size() descriptors; returns
// the byte count (0: the peer closed without sending), -1 on anything else.
ssize_t receive_namespace_fds(int sock, char* buf, std::size_t size, std::vector<unique_fd>& fds) {
  const ssize_t n = receive_fds(sock, buf, size, fds, joined.size());
  return n > 0 && fds.size() != joined.size() ? -1 : n;
}

long boot_ticks() {
  timespec ts{};
  ::clock_gettime(CLOCK_BOOTTIME, &ts);
  const long hz = ::sysconf(_SC_CLK_TCK);
  return ts.tv_sec * hz + ts.tv_nsec / (1000000000L / hz);
}

// Field 22 of /proc/PID/stat: when the process started, in ticks since boot.
long start_ticks(int proc_dir) {
  unique_fd fd(::openat(proc_dir, "stat", O_RDONLY | O_CLOEXEC));
  char buf[1024];
  ssize_t n = fd ? ::read(fd.get(), buf, sizeof buf - 1) : -1;
  if (n <= 0) return -1;
  buf[n] = '\0';
  const char* p = std::strrchr(buf, ')');
  for (int field = 2; p && field < 22; ++field) p = std::strchr(p + 1, ' ');
  return p ? std::atol(p + 1) : -1;
}

// The runtime that answered must be a live process of the caller's own PID
// namespace: a process inside a container would be in one of its own. The
// check goes through a pidfd of the peer, so a pid freed and reused in the
// meantime cannot stand in for it.
void verify_peer(int sock, const ucred& cred, long connected_at, const std::string& id) {
  const std::string refused = "instance \"" + id + "\" is not served by an elements runtime";
  int fd = -1;
  socklen_t len = sizeof fd;
  const bool peer_pidfd = ::getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &fd, &len) == 0;
  unique_fd pidfd(peer_pidfd ? fd : static_cast<int>(::syscall(SYS_pidfd_open, cred.pid, 0)));
  unique_fd proc(
      ::open(("/proc/" + std::to_string(cred.pid)).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  // Alive after /proc/PID was opened: the directory is the pidfd's process.
  if (!pidfd || !proc || ::syscall(SYS_pidfd_send_signal, pidfd.get(), 0, nullptr, 0) != 0)
    throw error("instance \"" + id + "\" ended while --elements-exec connected to it");
  // Without SO_PEERPIDFD, pidfd_open named a pid: it must have started
  // before the connection, as the runtime that listened did.
  if (!peer_pidfd && start_ticks(proc.get()) > connected_at) throw error(refused);
  struct stat theirs {
  }, ours{};
  if (::fstatat(proc.get(), "ns/pid", &theirs, 0) != 0 || ::stat("/proc/self/ns/pid", &ours) != 0 ||
      !same_file(theirs, ours))
    throw error(refused + " of this PID namespace");
}

}  // namespace

instance_claim::instance_claim(const std::string& id, const std::string& runtime_dir)
    : id_(id), owner_(::getpid()) {
  std::string where;
  dir_ = open_registry(runtime_dir, where);
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

unique_fd instance_claim::open_channel(const plan& p) {
  int pair[2];
  check(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), "create", "a socket pair");
  channel_.reset(pair[0]);
  view_ = p.workdir;
  view_.push_back('\0');
  for (const auto& e : p.env) view_.append(e).push_back('\0');
  return unique_fd(pair[1]);
}

void instance_claim::close_in_child() {
  owner_ = -1;
  dir_.reset();
  lock_.reset();
  listener_.reset();
  channel_.reset();
  namespaces_.clear();
}

void instance_claim::receive_namespaces() {
  char tag;
  std::vector<unique_fd> fds;
  if (receive_namespace_fds(channel_.get(), &tag, 1, fds) == 1) namespaces_ = std::move(fds);
  channel_.reset();
}

void instance_claim::answer_clients() {
  for (;;) {
    unique_fd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client) return;
    // The folder is the caller's alone; this holds even if someone widened it.
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(client.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        cred.uid != ::geteuid() || namespaces_.empty())
      continue;
    const auto size = static_cast<std::uint32_t>(view_.size());
    std::string message(reinterpret_cast<const char*>(&size), sizeof size);
    message += view_;
    std::vector<int> fds;
    for (const auto& fd : namespaces_) fds.push_back(fd.get());
    send_fds(client.get(), message, fds, MSG_DONTWAIT);
  }
}

void send_container_namespaces(unique_fd channel) {
  std::vector<unique_fd> owned;
  std::vector<int> fds;
  for (const auto& ns : joined) {
    const std::string path = std::string("/proc/self/ns/") + ns.name;
    owned.emplace_back(check(::open(path.c_str(), O_RDONLY | O_CLOEXEC), "open", path));
    fds.push_back(owned.back().get());
  }
  if (!send_fds(channel.get(), "n", fds, 0)) throw_errno("hand over", "the container's namespaces");
}

int exec_in_instance(const std::string& id, const std::vector<std::string>& argv,
                     const std::string& runtime_dir) {
  std::string where;
  unique_fd dir = open_registry(runtime_dir, where);
  socklen_t len;
  const sockaddr_un addr = socket_address(dir.get(), id, len);
  unique_fd s(check(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "open", "a socket"));
  const long connected_at = boot_ticks();
  if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&addr), len) != 0)
    throw error("no running instance named \"" + id +
                "\" (hint: ELEMENTS_ID is NAME.INSTANCE; start "
                "the file first, with its instance option if it has one)");
  ucred cred{};
  socklen_t cl = sizeof cred;
  check(::getsockopt(s.get(), SOL_SOCKET, SO_PEERCRED, &cred, &cl), "identify", "the instance");
  if (cred.uid != ::geteuid()) throw error("instance \"" + id + "\" belongs to another user");
  verify_peer(s.get(), cred, connected_at, id);

  // The container's namespaces, its command's working directory and
  // environment: from the runtime that owns them, never looked up by pid.
  std::uint32_t size = 0;
  std::vector<unique_fd> namespaces;
  const ssize_t n =
      receive_namespace_fds(s.get(), reinterpret_cast<char*>(&size), sizeof size, namespaces);
  if (n == 0) throw error("instance \"" + id + "\" is not running a command yet");
  std::string view(size, '\0');
  std::size_t got = 0;
  ssize_t r = 1;
  while (n == sizeof size && got < view.size() &&
         (r = ::read(s.get(), view.data() + got, view.size() - got)) > 0)
    got += static_cast<std::size_t>(r);
  if (n != sizeof size || got != view.size())
    throw error("instance \"" + id + "\" sent a broken answer to --elements-exec");
  s.reset();
  dir.reset();

  plan p;
  p.argv = argv;
  for (std::size_t i = 0; i < view.size();) {
    std::size_t end = view.find('\0', i);
    if (end == std::string::npos) end = view.size();
    if (i == 0)
      p.workdir = view.substr(0, end);
    else if (end > i)
      p.env.emplace_back(view.substr(i, end - i));
    i = end + 1;
  }
  if (p.workdir.empty()) p.workdir = "/";

  // Before any namespace of the container is joined: no core dump, ptrace or
  // /proc access for the container's root, and no host descriptor beyond the
  // terminal to take with pidfd_getfd.
  check(::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "make", "the joining runtime non-dumpable");
  ::prctl(PR_SET_NAME, "elements-exec");
  std::vector<int> keep;
  for (const auto& fd : namespaces) keep.push_back(fd.get());
  close_all_except(keep);

  bool joined_user_namespace = false;
  for (std::size_t i = 0; i < joined.size(); ++i) {
    const std::string own = std::string("/proc/self/ns/") + joined[i].name;
    struct stat a {
    }, b{};
    // Already a member (the user namespace of a run as root, the host's network).
    if (::stat(own.c_str(), &a) == 0 && ::fstat(namespaces[i].get(), &b) == 0 && same_file(a, b))
      continue;
    check(::setns(namespaces[i].get(), joined[i].type), "join the namespaces of instance", id);
    joined_user_namespace = joined_user_namespace || joined[i].type == CLONE_NEWUSER;
    // Joining a user namespace changes credentials, which may reset it.
    check(::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "make", "the joining runtime non-dumpable");
  }
  namespaces.clear();
  // The caller's session keyring stays the caller's, as for PID 1.
  join_own_session_keyring();

  check(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "set", "no_new_privs");
  // A root instance has no user namespace: its processes have a
  // container's capabilities, and so does this one's command.
  if (!joined_user_namespace && ::geteuid() == 0) drop_capabilities();
  // Joining a PID namespace applies to children: run_init forks the command.
  const sigset_t signals = forwarded_signals();
  check(::sigprocmask(SIG_BLOCK, &signals, nullptr), "block", "signals");
  return run_init(p);
}

}  // namespace elements::runtime
