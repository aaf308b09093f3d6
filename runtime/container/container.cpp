#include "runtime/container/container.hpp"

#include <fcntl.h>
#include <linux/keyctl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "elements/child_channel.hpp"
#include "elements/error.hpp"
#include "elements/private_dir.hpp"
#include "runtime/container/fd_passing.hpp"
#include "runtime/container/init.hpp"
#include "runtime/container/instance.hpp"
#include "runtime/container/output.hpp"
#include "runtime/container/signal_forwarding.hpp"
#include "runtime/debug_log.hpp"
#include "runtime/mount/rootfs.hpp"
#include "runtime/mount/squash_extract.hpp"
#include "runtime/mount/squash_mount.hpp"

namespace elements::runtime {
namespace {

void write_file(const char* path, const std::string& content) {
  unique_fd fd(::open(path, O_WRONLY | O_CLOEXEC));
  if (!fd ||
      ::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()))
    throw_errno("write", path);
}

// A user namespace in which the caller is root (or keeps its uid), with a
// mount namespace it owns. The process must still be single-threaded.
void enter_user_namespace(user_mode user) {
  const uid_t uid = ::geteuid();
  const gid_t gid = ::getegid();
  if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
    int err = errno;
    std::string why = "cannot create a user namespace: " + std::string(std::strerror(err));
    if (err == EPERM || err == EACCES || err == ENOSPC || err == EUSERS)
      why +=
          " (hint: the kernel refuses unprivileged user namespaces here; allow them with "
          "'sysctl -w kernel.unprivileged_userns_clone=1' or 'sysctl -w "
          "user.max_user_namespaces=15000', "
          "on Ubuntu 23.10 and later with 'sysctl -w "
          "kernel.apparmor_restrict_unprivileged_userns=0', "
          "or run as root)";
    throw error(why, exit_start_failed, std::error_code(err, std::generic_category()));
  }
  const uid_t inner_uid = user == user_mode::root ? 0 : uid;
  const gid_t inner_gid = user == user_mode::root ? 0 : gid;
  write_file("/proc/self/setgroups", "deny");
  write_file("/proc/self/uid_map", std::to_string(inner_uid) + " " + std::to_string(uid) + " 1\n");
  write_file("/proc/self/gid_map", std::to_string(inner_gid) + " " + std::to_string(gid) + " 1\n");
}

void loopback_up() {
  unique_fd s(check(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "open", "a socket"));
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  check(::ioctl(s.get(), SIOCGIFFLAGS, &ifr), "read the flags of", "lo");
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  check(::ioctl(s.get(), SIOCSIFFLAGS, &ifr), "bring up", "lo");
}

// The child after fork: PID 1 of the new PID namespace. Everything it fails
// at goes back to the parent over `report` (a child_channel's sending end) so
// the parent prints the cause.
[[noreturn]] void container_main(const run_request& req, rootfs_inputs& in, int ready, int report,
                                 instance_claim& instance, unique_fd channel) {
  // Before any process of the container exists: not dumpable, so container
  // root can neither ptrace PID 1 nor open its /proc files (fd, environ,
  // mem): its memory belongs to the caller's user namespace (CVE-2019-5736).
  ::prctl(PR_SET_DUMPABLE, 0);
  // If the runtime dies, so does the container; the read below closes the
  // window in which the parent could have died before prctl took effect.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  char go = 0;
  if (::read(ready, &go, 1) != 1) _exit(exit_start_failed);
  // The instance name is the host side's to hold: released the moment it ends.
  instance.close_in_child();
  try {
    const plan& p = *req.p;
    int flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
    if (p.network == network_mode::none) flags |= CLONE_NEWNET;
    detach_host_sources(in);
    check(::unshare(flags), "create", "the container's namespaces");
    setup_rootfs(in);
    debug::step("root filesystem ready");
    check(::sethostname(p.hostname.data(), p.hostname.size()), "set the hostname to", p.hostname);
    if (p.network == network_mode::none) loopback_up();
    join_own_session_keyring();
    // Final now: what --elements-exec joins, kept by the host side.
    send_container_namespaces(std::move(channel));
    // Everything else it inherited (the image, /dev/fuse, the extract cache,
    // the output and persist folders, binds) points at the host.
    close_all_except({report});
    ::prctl(PR_SET_NAME, "elements-init");
    check(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "set", "no_new_privs");
    if (in.privileged) drop_capabilities();
    _exit(run_init(p, report));
  } catch (const error& e) {
    send_child_report(report, e.status(), e.code().value(), e.what());
    _exit(e.status());
  } catch (const std::exception& e) {
    send_child_report(report, exit_start_failed, 0, e.what());
    _exit(exit_start_failed);
  }
}

// The payload mounted at payload_dir by the path's rungs, in order.
std::unique_ptr<mounted_payload> mount_payload(const run_request& req, const mount_path& path,
                                               bool fuse_usable,
                                               std::unique_ptr<fusermount_pending>& pending) {
  const payload_file& f = *req.file;
  for (std::size_t i = 0; i < path.rungs.size(); ++i) {
    const bool last = i + 1 == path.rungs.size();
    try {
      switch (path.rungs[i]) {
        case mount_rung::kernel:
          return mount_kernel(f, payload_dir);
        case mount_rung::fuse:
          if (pending) return fusermount_serve(std::move(pending));
          if (fuse_usable) return mount_fuse(f, payload_dir);
          throw error(
              "cannot use FUSE: /dev/fuse cannot be opened and fusermount3 is not installed "
              "(hint: install fuse3, or use ELEMENTS_MOUNT=extract)");
        case mount_rung::extract:
          return extract_cached(f, req.folders);
      }
    } catch (const error& e) {
      if (last) throw;
      debug::step(std::string(path.rungs[i] == mount_rung::kernel ? "kernel" : "fuse") +
                  " mount failed: " + e.what());
    }
  }
  throw error("no way to mount the payload");  // choose_mount_path never leaves rungs empty
}

// ${XDG_DATA_HOME:-~/.local/share}/elements/ID: the overlay layers of
// "writable": "persist", kept across runs of the same instance.
unique_fd open_persist_dir(const host_folders& folders, const std::string& id) {
  const std::string& base = persist_base(folders);
  const char* hint = "set XDG_DATA_HOME to a folder of your own";
  const unique_fd top = open_private_dir(open_base_dir(base, hint).get(), "elements",
                                         base + "/elements", hint, true, O_PATH);
  return open_private_dir(top.get(), id, base + "/elements/" + id, hint, true, O_PATH);
}

void bind_host_dir(int fd, const char* where) {
  check(::mkdir(where, 0755), "create", where);
  const std::string from = "/proc/self/fd/" + std::to_string(fd);
  check(::mount(from.c_str(), where, nullptr, MS_BIND, nullptr), "bind", where);
}

// Forwards signals to the container and returns its exit status; meanwhile
// takes the container's namespaces from init and answers --elements-exec.
int wait_for_container(pid_t child, const sigset_t& signals, instance_claim& instance) {
  return forward_signals_until_exit(
      child, signals, reap::child,
      {{[&] { return instance.channel(); }, [&](short) { instance.receive_namespaces(); }},
       {[&] { return instance.listener(); },
        [&](short revents) {
          if (revents & POLLIN) instance.answer_clients();
        }}});
}

// The payload's way in, decided once before anything is set up.
struct payload_route {
  mount_path path;
  bool fuse_usable = false;
  std::unique_ptr<fusermount_pending> pending;  // fusermount3's mount, when the path asks for it
};

payload_route choose_route(const run_request& req) {
  payload_route r;
  // Asked once: every rung that mounts by FUSE needs it (ELEMENTS_MOUNT=kernel never does).
  r.fuse_usable = req.privileged || req.mount == mount_request::kernel || fuse_device_usable();
  r.path = choose_mount_path(req.mount, req.privileged, r.fuse_usable, req.file != nullptr);
  // fusermount3 has to run in the host's namespaces and before any thread
  // exists. It opens /dev/fuse as the caller too, so it only helps where the
  // kernel refuses FUSE mounts in user namespaces: tried when FUSE is asked for.
  if (r.path.fusermount) {
    r.pending = fusermount_prepare(*req.file, req.folders);
    debug::step(r.pending ? "fusermount3 mounted the payload" : "no usable FUSE");
  }
  return r;
}

// A mount namespace of the run's own, in a user namespace unless the caller
// has the rights already.
void enter_namespaces(const run_request& req) {
  if (req.privileged || req.in_user_namespace)
    check(::unshare(CLONE_NEWNS), "create", "a mount namespace");
  else
    enter_user_namespace(req.p->user);
  check(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), "make private", "/");
  debug::step(req.privileged ? "mount namespace" : "user and mount namespaces");
}

// Host files the container needs, opened before the tmpfs covers /tmp.
rootfs_inputs open_host_inputs(const run_request& req) {
  const plan& p = *req.p;
  rootfs_inputs in;
  in.p = &p;
  in.privileged = req.privileged;
  for (const auto& b : p.binds)
    in.bind_sources.emplace_back(
        check(::open(b.source.c_str(), O_PATH | O_CLOEXEC), "open bind source", b.source));
  if (p.resolv_conf) {
    in.resolv_conf.reset(::open("/etc/resolv.conf", O_PATH | O_CLOEXEC));
    in.hosts.reset(::open("/etc/hosts", O_PATH | O_CLOEXEC));
  }
  return in;
}

// A payload tree on the host's filesystems and its checked descriptor.
struct host_tree {
  std::unique_ptr<mounted_payload> tree;
  unique_fd fd;
};

// Trees on the host's filesystems (the extract cache, an extracted
// AppImage, fusermount3's mount point) may lie under /tmp: opened before
// the tmpfs covers it.
host_tree open_host_tree(const run_request& req, const payload_route& route) {
  host_tree h;
  if (route.path.host_directory)
    h.tree = plain_directory(req.directory);
  else if (route.path.rungs.front() == mount_rung::extract)
    h.tree = extract_cached(*req.file, req.folders);
  if (h.tree || route.pending) {
    const std::string& dir = h.tree ? h.tree->root() : route.pending->mountpoint;
    // The extract cache's tree was opened checked: never looked up again.
    if (h.tree) h.fd = h.tree->take_dir_fd();
    if (!h.fd)
      h.fd.reset(check(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC), "open", dir));
  }
  return h;
}

// The tmpfs the container's set-up happens in, with the host folders it
// writes to bound into it.
void stage_host_folders(const output_stage* output, const unique_fd& persist) {
  check(::mount("tmpfs", base_dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700"), "mount", base_dir);
  if (output) bind_host_dir(output->dir(), out_dir);
  if (persist) bind_host_dir(persist.get(), persist_dir);
}

// The payload at payload_dir. It is served by threads of this process; a
// process that has unshared its PID namespace may start no more threads,
// so this comes before the fork.
std::unique_ptr<mounted_payload> stage_payload(const run_request& req, payload_route& route,
                                               host_tree& host) {
  check(::mkdir(payload_dir, 0755), "create", payload_dir);
  std::unique_ptr<mounted_payload> payload =
      host.tree ? std::move(host.tree)
                : mount_payload(req, route.path, route.fuse_usable, route.pending);
  if (host.fd) {
    const std::string from = "/proc/self/fd/" + std::to_string(host.fd.get());
    check(::mount(from.c_str(), payload_dir, nullptr, MS_BIND | MS_REC, nullptr), "bind",
          payload->root());
  } else if (payload->root() != payload_dir) {
    check(::mount(payload->root().c_str(), payload_dir, nullptr, MS_BIND | MS_REC, nullptr), "bind",
          payload->root());
  }
  debug::step(std::string("payload: ") + to_string(payload->method()) +
              (payload->detail().empty() ? "" : " (" + payload->detail() + ")"));
  return payload;
}

// PID 1 of the container, started and released; the host side keeps the
// end its report arrives on.
struct started_container {
  pid_t child = -1;
  child_channel report;
};

started_container start_container(const run_request& req, rootfs_inputs& in,
                                  instance_claim& instance) {
  const plan& p = *req.p;
  int ready[2];
  check(::pipe2(ready, O_CLOEXEC), "create", "a pipe");
  unique_fd ready_read(ready[0]), ready_write(ready[1]);
  child_channel report;
  unique_fd channel = instance.open_channel(p);

  // The first child after unshare(CLONE_NEWPID) is PID 1 of the new namespace.
  // glibc's fork is safe beside the FUSE threads: only this thread is copied.
  check(::unshare(CLONE_NEWPID), "create", "a PID namespace");
  pid_t child = check(::fork(), "start", "the container");
  if (child == 0) {
    ready_write.reset();
    report.keep_sender();
    container_main(req, in, ready_read.get(), report.sender(), instance, std::move(channel));
  }
  ready_read.reset();
  report.keep_receiver();
  channel.reset();
  in.bind_sources.clear();

  check(static_cast<int>(::write(ready_write.get(), "g", 1)), "start", "the container");
  return {child, std::move(report)};
}

}  // namespace

std::string persist_upper_path(const std::string& id) {
  return "elements/" + id + "/upper";
}

int run_container(const run_request& req) {
  const plan& p = *req.p;
  // Claimed first: a duplicate ID is refused before anything is set up.
  instance_claim instance(p.id, req.folders.runtime);
  payload_route route = choose_route(req);  // the mount path, decided once as data

  // Signals wait in a queue from here on: the FUSE threads and the container
  // inherit the mask, and the main thread takes them as it waits.
  const sigset_t signals = forwarded_signals();
  check(::sigprocmask(SIG_BLOCK, &signals, nullptr), "block", "signals");

  enter_namespaces(req);                        // every mount from here on is the run's own
  rootfs_inputs in = open_host_inputs(req);     // binds, resolv.conf: before /tmp is covered
  host_tree host = open_host_tree(req, route);  // trees that may lie under /tmp, likewise
  std::unique_ptr<output_stage> output;
  if (p.output) output = std::make_unique<output_stage>(*p.output, p.id);
  unique_fd persist;
  if (p.writable == writable_mode::persist) persist = open_persist_dir(req.folders, p.id);
  stage_host_folders(output.get(), persist);  // the set-up's tmpfs, with /out and the layers
  // FUSE threads start here, before a PID namespace forbids new ones.
  std::unique_ptr<mounted_payload> payload = stage_payload(req, route, host);

  started_container c = start_container(req, in, instance);  // PID 1 of its namespace
  const int status = wait_for_container(c.child, signals, instance);
  debug::step("container exited with " + std::to_string(status));
  payload.reset();
  // Why the container side could not start, if it could not.
  if (auto r = c.report.receive()) throw error(r->message, r->code);
  if (output) output->deliver();
  return status;
}

}  // namespace elements::runtime
