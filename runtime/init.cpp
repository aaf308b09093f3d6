#include "init.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "debug_log.hpp"
#include "elements/error.hpp"
#include "elements/unique_fd.hpp"

extern char** environ;

namespace elements::runtime {
namespace {

// What the command's process reports when exec fails: which step and errno.
struct exec_report {
  int step;  // 0: chdir to workdir, 1: exec
  int err;
};

[[noreturn]] void exec_command(const plan& p, int report_fd) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);

  std::vector<char*> argv, envp;
  for (const auto& a : p.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : p.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  // The last moment before the command replaces this copy of init: the
  // fault hook can hold it here, where it is visible inside the container.
  debug::step("command: exec " + p.argv[0]);
  exec_report r{0, 0};
  if (::chdir(p.workdir.c_str()) != 0) {
    r.err = errno;
    (void)!::write(report_fd, &r, sizeof r);
    _exit(exit_start_failed);
  }
  // execvp searches the PATH of the environment it runs in: make that the container's.
  environ = envp.data();
  ::execvp(argv[0], argv.data());
  r = {1, errno};
  (void)!::write(report_fd, &r, sizeof r);
  _exit(r.err == ENOENT ? exit_not_found : exit_not_executable);
}

int status_of(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return exit_start_failed;
}

}  // namespace

sigset_t forwarded_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD})
    sigaddset(&set, sig);
  return set;
}

void join_own_session_keyring() {
  if (::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, nullptr) < 0 && errno != ENOSYS)
    throw_errno("create", "a session keyring of the container's own");
}

void drop_capabilities() {
  // Docker's default set without CAP_MKNOD and CAP_NET_RAW (no device
  // cgroup here, and the host network is shared): enough for package
  // managers and daemons that change user; none of the capabilities that
  // reach the host (ptrace, mounts, modules, raw I/O, open_by_handle_at).
  static constexpr int keep[] = {CAP_CHOWN,      CAP_DAC_OVERRIDE, CAP_FOWNER,
                                 CAP_FSETID,     CAP_KILL,         CAP_SETGID,
                                 CAP_SETUID,     CAP_SETPCAP,      CAP_NET_BIND_SERVICE,
                                 CAP_SYS_CHROOT, CAP_SETFCAP,      CAP_AUDIT_WRITE};
  std::uint64_t mask = 0;
  for (int c : keep) mask |= std::uint64_t{1} << c;
  for (int c = 0; c < 64; ++c) {
    if (mask & (std::uint64_t{1} << c)) continue;
    if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL)
      throw_errno("drop capability " + std::to_string(c) + " from", "the bounding set");
  }
  (void)::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  for (int i = 0; i < 2; ++i) {
    const auto bits = static_cast<std::uint32_t>(mask >> (32 * i));
    data[i].effective = data[i].permitted = bits;
  }
  check(static_cast<int>(::syscall(SYS_capset, &header, data)), "drop", "capabilities");
}

int run_init(const plan& p, int close_when_started) {
  int fds[2];
  check(::pipe2(fds, O_CLOEXEC), "create", "a pipe");
  unique_fd report_read(fds[0]), report_write(fds[1]);

  pid_t command = check(::fork(), "start", p.argv.at(0));
  if (command == 0) {
    report_read.reset();
    exec_command(p, report_write.get());
  }
  report_write.reset();

  // The pipe closes on a successful exec (O_CLOEXEC); a report means it failed.
  exec_report r{};
  ssize_t n;
  do n = ::read(report_read.get(), &r, sizeof r);
  while (n < 0 && errno == EINTR);
  report_read.reset();
  if (n != sizeof r && close_when_started >= 0) ::close(close_when_started);
  if (n == sizeof r) {
    ::waitpid(command, nullptr, 0);
    if (r.step == 0)
      throw error("cannot enter the working directory " + p.workdir + ": " + std::strerror(r.err) +
                  " (hint: fix \"workdir\" in the definition)");
    int status = r.err == ENOENT ? exit_not_found : exit_not_executable;
    throw error(
        "cannot run " + p.argv[0] + ": " + std::strerror(r.err) +
            (status == exit_not_found ? " (hint: check the command and PATH in the image)"
                                      : " (hint: check that it is an executable for this machine)"),
        status);
  }

  const sigset_t set = forwarded_signals();
  for (;;) {
    siginfo_t si{};
    int sig = ::sigwaitinfo(&set, &si);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      // A terminal's signals reach the command's process group directly;
      // forwarding them as well would deliver them twice.
      if (si.si_code != SI_KERNEL) ::kill(command, sig);
      continue;
    }
    int wstatus;
    pid_t pid;
    while ((pid = ::waitpid(-1, &wstatus, WNOHANG)) > 0) {
      // When the command ends, so does the container: returning from PID 1
      // makes the kernel kill whatever else is left in its namespace.
      if (pid == command) return status_of(wstatus);
    }
  }
}

}  // namespace elements::runtime
