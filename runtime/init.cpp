#include "init.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

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

int run_init(const plan& p) {
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
  report_read.reset();  // nothing more comes; init and a joiner hold only their stdio
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
