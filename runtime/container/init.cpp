#include "runtime/container/init.hpp"

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

#include "elements/child_channel.hpp"
#include "elements/error.hpp"
#include "elements/unique_fd.hpp"
#include "runtime/container/signal_forwarding.hpp"
#include "runtime/debug_log.hpp"

extern char** environ;

namespace elements::runtime {
namespace {

// What failed in the command's process before the command ran; the errno
// travels with it.
enum exec_step : int { enter_workdir, exec };

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
  if (::chdir(p.workdir.c_str()) != 0) {
    send_child_report(report_fd, enter_workdir, errno, {});
    _exit(exit_start_failed);
  }
  // execvp searches the PATH of the environment it runs in: make that the container's.
  environ = envp.data();
  ::execvp(argv[0], argv.data());
  const int err = errno;
  send_child_report(report_fd, exec, err, {});
  _exit(err == ENOENT ? exit_not_found : exit_not_executable);
}

}  // namespace

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
  child_channel report;
  const pid_t command = check(::fork(), "start", p.argv.at(0));
  if (command == 0) {
    report.keep_sender();
    exec_command(p, report.sender());
  }
  report.keep_receiver();
  // The channel closes on a successful exec (O_CLOEXEC); a report means it
  // failed. Either way the channel is closed now: PID 1 holds only stdio.
  const std::optional<child_report> r = report.receive();
  if (!r && close_when_started >= 0) ::close(close_when_started);
  if (r) {
    ::waitpid(command, nullptr, 0);
    if (r->code == enter_workdir)
      throw error("cannot enter the working directory " + p.workdir + ": " + std::strerror(r->err) +
                  " (hint: fix \"workdir\" in the definition)");
    int status = r->err == ENOENT ? exit_not_found : exit_not_executable;
    throw error(
        "cannot run " + p.argv[0] + ": " + std::strerror(r->err) +
            (status == exit_not_found ? " (hint: check the command and PATH in the image)"
                                      : " (hint: check that it is an executable for this machine)"),
        status);
  }
  return forward_signals_until_exit(command, forwarded_signals(), reap::all);
}

}  // namespace elements::runtime
