// Mount rung 2, second way: FUSE mounted by the setuid fusermount3, for when
// /dev/fuse cannot be opened directly. fusermount3 mounts in the host's
// namespaces and hands the connection over a socket (libfuse's _FUSE_COMMFD
// protocol); this process serves it later, from inside its own namespaces.

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "elements/error.hpp"
#include "elements/private_dir.hpp"
#include "elements/process.hpp"
#include "runtime/container/fd_passing.hpp"
#include "runtime/mount/fuse_server.hpp"
#include "runtime/mount/squash_mount.hpp"

namespace elements::runtime {
namespace {

// The per-user runtime dir first: nothing else may list it, and a container
// that covers /tmp does not hide it.
std::string mount_base(const host_folders& folders) {
  for (const std::string* dir : {&folders.runtime, &folders.temp})
    if (dir->starts_with('/') && ::access(dir->c_str(), W_OK | X_OK) == 0) return *dir;
  return "/tmp";
}

// fusermount3 splits options at commas, unescaping as libfuse escapes.
std::string escape_option(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == ',' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// fusermount3 refuses allow_other to users unless fuse.conf permits it.
bool user_allow_other() {
  unique_fd fd(::open("/etc/fuse.conf", O_RDONLY | O_CLOEXEC));
  char buf[4096];
  const ssize_t n = fd ? ::read(fd.get(), buf, sizeof buf) : -1;
  if (n <= 0) return false;
  for (std::string_view rest(buf, static_cast<std::size_t>(n)); !rest.empty();) {
    const auto eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
      line.remove_suffix(1);
    if (line == "user_allow_other") return true;
  }
  return false;
}

bool send_fd(int sock, int fd) {
  return send_fds(sock, std::string_view("", 1), {fd});
}

// The fd sent over `sock`, or -1 when the peer closed without sending one.
int receive_fd(int sock) {
  char byte;
  std::vector<unique_fd> fds;
  if (receive_fds(sock, &byte, 1, fds, 1) <= 0 || fds.empty()) return -1;
  return fds.front().release();
}

void wait_for(pid_t pid) {
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

struct helper_args {
  std::string fusermount, options, mountpoint;
};

// Runs in the host's namespaces for as long as the runtime lives: starts
// fusermount3, passes the connection on, and when `link` closes (the runtime
// is done or dead) lets fusermount3 unmount, then removes the mount point,
// which no process inside the runtime's namespaces could do.
[[noreturn]] void helper_main(int link, const helper_args& a) {
  ::setsid();  // Ctrl-C and hangups for the runtime must not end the cleanup
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  if (link != 3) {
    ::dup2(link, 3);
    link = 3;
  }
  ::fcntl(link, F_SETFD, FD_CLOEXEC);
  close_all_except({3});  // including the runtime's end of `link`, or EOF would never come
  (void)!::chdir("/");
  const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  ::dup2(null, 0);
  ::dup2(null, 1);

  int comm[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, comm) != 0) ::_exit(1);
  const pid_t fusermount = ::fork();
  if (fusermount == 0) {
    ::fcntl(comm[0], F_SETFD, 0);
    char commfd[16];
    std::snprintf(commfd, sizeof commfd, "%d", comm[0]);
    ::setenv("_FUSE_COMMFD", commfd, 1);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    const char* argv[] = {a.fusermount.c_str(), "-o",   a.options.c_str(), "--",
                          a.mountpoint.c_str(), nullptr};
    ::execv(argv[0], const_cast<char* const*>(argv));
    const std::string msg = "cannot run " + a.fusermount + ": " + std::strerror(errno) + "\n";
    (void)!::write(2, msg.data(), msg.size());
    ::_exit(127);
  }
  ::close(comm[0]);
  const int fuse = fusermount > 0 ? receive_fd(comm[1]) : -1;
  if (fuse < 0 || !send_fd(link, fuse)) {
    ::close(comm[1]);
    if (fusermount > 0) wait_for(fusermount);
    ::rmdir(a.mountpoint.c_str());
    ::_exit(1);
  }
  ::close(fuse);
  ::dup2(null, 2);

  char byte;
  for (ssize_t n; (n = ::read(link, &byte, 1)) != 0;)
    if (n < 0 && errno != EINTR) break;
  // With auto_unmount, fusermount3 unmounts when its socket closes. It gives
  // up when the connection is already gone (the runtime's server closed it
  // first), so an explicit lazy unmount follows; it fails harmlessly when
  // there is nothing left to unmount.
  ::close(comm[1]);
  wait_for(fusermount);
  if (const pid_t unmount = ::fork(); unmount == 0) {
    ::dup2(null, 2);
    const char* argv[] = {a.fusermount.c_str(), "-u",   "-z", "-q", "--",
                          a.mountpoint.c_str(), nullptr};
    ::execv(argv[0], const_cast<char* const*>(argv));
    ::_exit(127);
  } else if (unmount > 0) {
    wait_for(unmount);
  }
  for (int i = 0; i < 300 && ::rmdir(a.mountpoint.c_str()) != 0 && errno == EBUSY; ++i)
    ::usleep(10000);
  ::_exit(0);
}

class fusermount_mount final : public mounted_payload {
 public:
  fusermount_mount(std::unique_ptr<fusermount_pending> pending, std::unique_ptr<fuse_server> server)
      : pending_(std::move(pending)), server_(std::move(server)) {}
  ~fusermount_mount() override {
    server_.reset();  // first: fusermount3 must find the connection closed, not hanging
    pending_.reset();
  }
  const std::string& root() const override { return pending_->mountpoint; }
  mount_method method() const override { return mount_method::fuse; }
  std::string detail() const override { return "fusermount3, " + pending_->mountpoint; }

 private:
  std::unique_ptr<fusermount_pending> pending_;
  std::unique_ptr<fuse_server> server_;
};

}  // namespace

fusermount_pending::~fusermount_pending() {
  fuse.reset();
  helper_link.reset();
  // Normally a few milliseconds. Should another process still hold the
  // connection, fusermount3 waits for it to go; the runtime need not.
  for (int i = 0; helper_pid > 0 && i < 300; ++i) {
    const pid_t done = ::waitpid(helper_pid, nullptr, WNOHANG);
    if (done == helper_pid || (done < 0 && errno != EINTR)) break;
    ::usleep(10000);
  }
}

std::unique_ptr<fusermount_pending> fusermount_prepare(const payload_file& file,
                                                       const host_folders& folders) {
  helper_args a;
  a.fusermount = find_program("fusermount3", folders.path);
  if (a.fusermount.empty()) return nullptr;

  const std::string base = file.path.substr(file.path.rfind('/') + 1);
  a.mountpoint = make_temp_dir(mount_base(folders), ".mount_" + base.substr(0, 6));
  scope_exit remove_mountpoint([&] { ::rmdir(a.mountpoint.c_str()); });
  a.options = "ro,nosuid,nodev,auto_unmount,subtype=squashfuse,fsname=" + escape_option(file.path);
  if (::geteuid() == 0 || user_allow_other()) a.options += ",allow_other";

  int link[2];
  check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, link), "create", "a socket pair");
  unique_fd ours(link[0]), theirs(link[1]);
  const pid_t pid = check(::fork(), "start", a.fusermount);
  if (pid == 0) helper_main(theirs.get(), a);
  theirs.reset();
  remove_mountpoint.dismiss();

  auto pending = std::make_unique<fusermount_pending>();
  pending->file = &file;
  pending->mountpoint = a.mountpoint;
  pending->helper_link = std::move(ours);
  pending->helper_pid = pid;
  pending->owner_uid = ::getuid();
  pending->owner_gid = ::getgid();
  const int fuse = receive_fd(pending->helper_link.get());
  if (fuse < 0)
    throw error(a.fusermount + " could not mount " + file.path + " on " + a.mountpoint +
                " (its message is above; hint: use ELEMENTS_MOUNT=extract to run without FUSE)");
  pending->fuse.reset(fuse);
  return pending;
}

std::unique_ptr<mounted_payload> fusermount_serve(std::unique_ptr<fusermount_pending> pending) {
  require_thread_possible();
  auto server = std::make_unique<fuse_server>(*pending->file, std::move(pending->fuse),
                                              pending->owner_uid, pending->owner_gid);
  return std::make_unique<fusermount_mount>(std::move(pending), std::move(server));
}

}  // namespace elements::runtime
