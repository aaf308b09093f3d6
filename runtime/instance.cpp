#include "instance.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "elements/error.hpp"
#include "elements/read_file.hpp"
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

void accept_exec_client(int listener) {
  for (;;) {
    int c = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    ::close(c);
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
  ucred cred{};
  socklen_t cl = sizeof cred;
  check(::getsockopt(s.get(), SOL_SOCKET, SO_PEERCRED, &cred, &cl), "identify", "the instance");
  if (cred.uid != ::getuid()) throw error("instance \"" + id + "\" belongs to another user");
  s.reset();

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
