#include "instance.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "elements/error.hpp"
#include "elements/read_file.hpp"
#include "fd_passing.hpp"
#include "init.hpp"

extern char** environ;

namespace elements::runtime {
namespace {

// The uid in the name keeps users apart; the peer's uid is checked too.
sockaddr_un instance_address(const std::string& id, socklen_t& len) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string name = "elements/" + std::to_string(::getuid()) + "/" + id;
  if (name.size() + 1 > sizeof addr.sun_path)
    throw usage_error("instance name \"" + id + "\" is too long (hint: use at most 80 characters)");
  std::memcpy(addr.sun_path + 1, name.data(), name.size());  // sun_path[0] = 0: abstract
  len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  return addr;
}

// The first child of `pid`: the runtime's container init, or init's command.
pid_t first_child(pid_t pid) {
  std::string children =
      read_file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  return static_cast<pid_t>(std::atoi(children.c_str()));
}

constexpr std::size_t max_namespaces = max_passed_fds;

// What the runtime sends a joiner, with the namespace fds as SCM_RIGHTS.
struct ns_message {
  pid_t init;
  int count;
  int types[max_namespaces];
};

}  // namespace

unique_fd claim_instance(const std::string& id) {
  socklen_t len;
  sockaddr_un addr = instance_address(id, len);
  unique_fd s(
      check(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), "open", "a socket"));
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    if (errno == EADDRINUSE)
      throw error("an instance named \"" + id +
                  "\" is already running (hint: choose another instance "
                  "name, or use --elements-exec " +
                  id + " -- CMD to run a command in it)");
    throw_errno("claim instance", id);
  }
  check(::listen(s.get(), 8), "listen on", "the instance socket");
  return s;
}

void accept_exec_client(int listener, const instance_namespaces& ns) {
  for (;;) {
    unique_fd c(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
    if (!c) return;
    if (ns.fds.empty()) continue;
    ns_message m{};
    m.init = ns.init;
    m.count = static_cast<int>(ns.fds.size());
    std::vector<int> fds;
    for (std::size_t i = 0; i < ns.fds.size() && i < max_namespaces; ++i) {
      m.types[i] = ns.fds[i].first;
      fds.push_back(ns.fds[i].second.get());
    }
    // A client that went away, or does not read, is its own problem.
    (void)send_fds(c.get(), &m, sizeof m, fds, MSG_DONTWAIT);
  }
}

int exec_in_instance(const std::string& id, const std::vector<std::string>& argv) {
  socklen_t len;
  sockaddr_un addr = instance_address(id, len);
  unique_fd s(check(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "open", "a socket"));
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0)
    throw error("no running instance named \"" + id +
                "\" (hint: ELEMENTS_ID is NAME.INSTANCE; start "
                "the file first, with its instance option if it has one)");
  // Before anything of the container can see this process: not dumpable,
  // so container root can neither ptrace it nor take its descriptors with
  // pidfd_getfd, and holding nothing of the host's but stdio and the socket.
  ::prctl(PR_SET_DUMPABLE, 0);
  ::prctl(PR_SET_NAME, "elements-exec");
  if (s.get() != 3) {
    check(::dup3(s.get(), 3, O_CLOEXEC), "keep", "the instance socket");
    s.reset(3);
  }
  check(::close_range(4, ~0U, 0), "close", "the host's descriptors");
  ucred cred{};
  socklen_t cl = sizeof cred;
  check(::getsockopt(s.get(), SOL_SOCKET, SO_PEERCRED, &cred, &cl), "identify", "the instance");
  if (cred.uid != ::getuid()) throw error("instance \"" + id + "\" belongs to another user");
  ns_message m{};
  std::vector<unique_fd> ns = receive_fds(s.get(), &m, sizeof m);
  s.reset();
  if (ns.empty() || m.count != static_cast<int>(ns.size()) || m.init <= 0)
    throw error("instance \"" + id + "\" is not running a command yet");

  const pid_t command = first_child(m.init);
  if (command <= 0) throw error("instance \"" + id + "\" is not running a command yet");

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

  // The user namespace first (the runtime sends it first): it grants the
  // rights to join the others. Those this process is already in are skipped.
  for (std::size_t i = 0; i < ns.size(); ++i) {
    struct stat own {
    }, theirs{};
    const char* name = m.types[i] == CLONE_NEWUSER  ? "user"
                       : m.types[i] == CLONE_NEWIPC ? "ipc"
                       : m.types[i] == CLONE_NEWUTS ? "uts"
                       : m.types[i] == CLONE_NEWNET ? "net"
                       : m.types[i] == CLONE_NEWPID ? "pid"
                                                    : "mnt";
    if (::stat((std::string("/proc/self/ns/") + name).c_str(), &own) == 0 &&
        ::fstat(ns[i].get(), &theirs) == 0 && own.st_ino == theirs.st_ino &&
        own.st_dev == theirs.st_dev)
      continue;
    check(::setns(ns[i].get(), m.types[i]), "join the namespaces of instance", id);
  }

  // Joining a user namespace changes the credentials, which resets the flag.
  ::prctl(PR_SET_DUMPABLE, 0);
  if (::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, nullptr) < 0 && errno != ENOSYS)
    throw_errno("create", "a session keyring");
  const bool joined_user_namespace =
      std::find(m.types, m.types + m.count, CLONE_NEWUSER) != m.types + m.count;
  plan p;
  p.argv = argv;
  p.env = std::move(env);
  p.workdir = workdir;
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
