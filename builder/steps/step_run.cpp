#include "builder/steps/step_run.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <optional>

#include "builder/squashfs/spool.hpp"
#include "builder/squashfs/squashfs_writer.hpp"
#include "builder/steps/overlay_diff.hpp"
#include "elements/child_channel.hpp"
#include "elements/error.hpp"
#include "elements/private_dir.hpp"
#include "runtime/container/container.hpp"
#include "runtime/mount/remove_tree.hpp"

namespace elements::builder {
namespace {

namespace fs = std::filesystem;

// The container's name in the runtime's terms; the instance makes the id unique.
constexpr const char* step_name = "elements-pack-step";

void write_proc(const char* path, const std::string& content) {
  unique_fd fd(::open(path, O_WRONLY | O_CLOEXEC));
  if (!fd ||
      ::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()))
    throw_errno("write", path);
}

// SIGINT, SIGTERM or SIGHUP while a step runs: passed on to the step, which
// ends its command and removes what only its namespace may remove; then the
// build ends by the same signal.
volatile sig_atomic_t pending_signal = 0;
extern "C" void note_signal(int sig) {
  pending_signal = sig;
}

class signal_guard {
 public:
  signal_guard() {
    struct sigaction sa {};
    sa.sa_handler = note_signal;  // no SA_RESTART: read() returns EINTR
    sigemptyset(&sa.sa_mask);
    for (std::size_t i = 0; i < std::size(signals_); ++i)
      ::sigaction(signals_[i], &sa, &previous_[i]);
  }
  ~signal_guard() {
    for (std::size_t i = 0; i < std::size(signals_); ++i)
      ::sigaction(signals_[i], &previous_[i], nullptr);
  }
  signal_guard(const signal_guard&) = delete;
  signal_guard& operator=(const signal_guard&) = delete;

 private:
  static constexpr int signals_[] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction previous_[std::size(signals_)];
};

// A temporary folder, removed with everything in it when the build ends.
struct work_dir {
  fs::path path;
  work_dir() { path = make_temp_dir(temp_folder(), "elements-pack-step."); }
  ~work_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  work_dir(const work_dir&) = delete;
  work_dir& operator=(const work_dir&) = delete;
};

// The rootfs as a payload the runtime mounts: rootfs/ at its root, lz4 for
// speed (measured against zstd in the README).
void write_payload(const node_ptr& rootfs, const fs::path& path) {
  made_attrs attrs;
  node_ptr root = make_dir(0755, attrs);
  root->entries["rootfs"] = rootfs;
  unique_fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) throw_errno("create", path.native());
  squashfs_options opts;
  opts.comp = parse_compression("lz4");
  write_squashfs(fd.get(), 0, root, opts);
}

struct child_setup {
  const build_step* step = nullptr;
  const step_run_options* options = nullptr;
  const id_mapping* ids = nullptr;
  const runtime::host_context* host = nullptr;  // the build's, read once per step
  fs::path work;
  int work_fd = -1;
  int diff_fd = -1;
  int report_fd = -1;
  int mapped_read = -1;  // the parent writes one byte once newuidmap ran
  int unshared_write = -1;
};

// Made root of a user namespace of its own. With subordinate ids the parent
// runs newuidmap/newgidmap on this process; else it maps itself.
void enter_step_user_namespace(const child_setup& c) {
  const uid_t uid = ::geteuid();
  const gid_t gid = ::getegid();
  if (::unshare(CLONE_NEWUSER) != 0)
    throw_errno(
        "create a user namespace for the step (hint: the kernel refuses unprivileged "
        "user namespaces; see the runtime's message for the sysctl, or build as root)");
  if (c.ids->uids) {
    char b = 'u';
    char go = 0;
    if (::write(c.unshared_write, &b, 1) != 1 || ::read(c.mapped_read, &go, 1) != 1 || go != 'g')
      throw error("newuidmap/newgidmap could not map the subordinate ids (see above)",
                  exit_build_failed);
    ::setgroups(0, nullptr);
    return;
  }
  write_proc("/proc/self/setgroups", "deny");
  write_proc("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1\n");
  write_proc("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1\n");
}

// The step's state in the work folder, removed with it: the overlay's
// layers, any extracted payload, and the step's instance name too (the
// caller's own registry may be shared with runs as real root, whose folders
// are not this namespace's root's).
constexpr const char* data_folder = "data";
constexpr const char* cache_folder = "cache";

runtime::host_folders step_folders(const child_setup& c) {
  runtime::host_folders f = runtime::folders_of(*c.host);
  const std::string work = c.work.native();
  f.data = work + "/" + data_folder;
  f.cache = work + "/" + cache_folder;
  f.runtime = work + "/run";
  if (::mkdir(f.runtime.c_str(), 0700) != 0 && errno != EEXIST) throw_errno("create", f.runtime);
  return f;
}

runtime::plan step_plan(const child_setup& c) {
  runtime::plan p;
  p.name = step_name;
  p.instance = "s" + std::to_string(::getpid());
  p.id = p.name + "." + p.instance;
  p.argv = c.step->run->argv;
  p.env = c.options->env;
  p.hostname = "elements-pack";
  p.network = network_mode::host;
  p.resolv_conf = true;
  p.writable = writable_mode::persist;  // the upper layer is the step's result
  return p;
}

[[noreturn]] void step_child(const child_setup& c) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The command's exit status; -1: the container did not run.
  int status = -1;
  try {
    const bool in_user_namespace = ::geteuid() != 0;
    if (in_user_namespace) enter_step_user_namespace(c);
    runtime::run_request req;
    req.folders = step_folders(c);
    const std::string payload = c.work.native() + "/payload.sqfs";
    runtime::payload_file file{
        unique_fd(check(::open(payload.c_str(), O_RDONLY | O_CLOEXEC), "open", payload)), payload,
        0};
    const runtime::plan p = step_plan(c);
    req.file = &file;
    req.p = &p;
    req.program = "elements-pack";
    req.mount = runtime::parse_mount_request(runtime::host_env(*c.host, "ELEMENTS_MOUNT"));
    req.privileged = !in_user_namespace && c.host->privileged;
    req.in_user_namespace = in_user_namespace;
    status = runtime::run_container(req);
    // By now a tmpfs may cover the work folder's path: reach it by its fd.
    const std::string upper = "/proc/self/fd/" + std::to_string(c.work_fd) + "/" + data_folder +
                              "/" + runtime::persist_upper_path(p.id);
    if (status == 0) write_overlay_diff(upper, c.diff_fd);
    // Files the step gave to subordinate ids may be the namespace's alone to remove.
    runtime::remove_tree(c.work_fd, data_folder);
    runtime::remove_tree(c.work_fd, cache_folder);
    send_child_report(c.report_fd, status, 0, {});
    _exit(0);
  } catch (const std::exception& e) {
    runtime::remove_tree(c.work_fd, data_folder);
    runtime::remove_tree(c.work_fd, cache_folder);
    send_child_report(c.report_fd, status, 0, e.what());
    _exit(1);
  }
}

// Copies the child's output to `options.out`, a prefix before each line.
void stream_output(int fd, const step_run_options& options, pid_t child) {
  std::string pending;
  char buf[4096];
  int forwarded = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      // A second signal does not wait for the command any longer.
      if (pending_signal) ::kill(child, forwarded ? SIGKILL : pending_signal);
      forwarded = pending_signal;
      continue;
    }
    if (n <= 0) break;
    pending.append(buf, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      if (options.out) options.out(options.prefix + pending.substr(0, nl + 1));
      pending.erase(0, nl + 1);
    }
  }
  if (!pending.empty() && options.out) options.out(options.prefix + pending + "\n");
}

// The pipes between the build and the step's process.
struct step_pipes {
  unique_fd out_read, out_write;            // the command's output
  child_channel report;                     // why the step failed, if it did
  unique_fd unshared_read, unshared_write;  // the child made its user namespace
  unique_fd mapped_read, mapped_write;      // newuidmap/newgidmap ran

  step_pipes() {
    for (auto [read, write] : {std::pair{&out_read, &out_write},
                               {&unshared_read, &unshared_write},
                               {&mapped_read, &mapped_write}}) {
      int fds[2];
      check(::pipe2(fds, O_CLOEXEC), "create", "a pipe");
      read->reset(fds[0]);
      write->reset(fds[1]);
    }
  }
  // Once the child has its copies.
  void close_child_ends() {
    out_write.reset();
    report.keep_receiver();
    unshared_write.reset();
    mapped_read.reset();
  }
};

// The step's process, with its output going to the parent, which prefixes
// each line.
pid_t start_step(const child_setup& c, step_pipes& pipes) {
  std::fflush(nullptr);
  const pid_t child = check(::fork(), "start", "the build step");
  if (child == 0) {
    unique_fd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    ::dup2(null.get(), 0);
    ::dup2(pipes.out_write.get(), 1);
    ::dup2(pipes.out_write.get(), 2);
    pipes.report.keep_sender();
    step_child(c);
  }
  return child;
}

// With subordinate ids: maps them once the child has unshared, and lets it go on.
void map_ids_when_asked(pid_t child, const id_mapping& ids, step_pipes& pipes,
                        const step_run_options& options) {
  char b = 0;
  if (::read(pipes.unshared_read.get(), &b, 1) == 1) {
    try {
      map_subordinate_ids(child, ids);
      (void)!::write(pipes.mapped_write.get(), "g", 1);
    } catch (const error& e) {
      options.out ? options.out(options.prefix + e.what() + "\n") : void();
    }
  }
  pipes.mapped_write.reset();
}

int wait_step(pid_t child) {
  int ws = 0;
  while (::waitpid(child, &ws, 0) < 0 && errno == EINTR) {
  }
  return ws;
}

// The child's report: throws naming the step unless the command succeeded.
void check_step_report(child_channel& report, int ws, const step_run_options& options) {
  const std::optional<child_report> r = report.receive();
  const std::string message =
      r ? r->message
        : "the step's process ended without a report (" +
              std::string(WIFSIGNALED(ws) ? ::strsignal(WTERMSIG(ws)) : "no status") + ")";
  const std::string& which = options.what;
  if (!message.empty()) throw error(which + ": " + message, exit_build_failed);
  if (r->code != 0)
    throw error(which + " failed: the command exited with status " + std::to_string(r->code),
                exit_build_failed);
}

}  // namespace

unique_fd run_build_step(const node_ptr& rootfs, const build_step& step,
                         const step_run_options& options) {
  pending_signal = 0;
  std::optional<work_dir> work_holder(std::in_place);
  const work_dir& work = *work_holder;
  int interrupted = 0;
  // Declared after the work folder, so it is restored only once that is gone.
  std::optional<signal_guard> signals(std::in_place);
  scope_exit end_like_the_signal([&] {
    if (!interrupted) return;
    work_holder.reset();
    signals.reset();
    ::raise(interrupted);
  });
  write_payload(rootfs, work.path / "payload.sqfs");
  if ((interrupted = pending_signal)) throw error("interrupted", exit_build_failed);
  unique_fd work_fd(check(::open(work.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC), "open",
                          work.path.native()));
  unique_fd diff = temporary_file();
  const id_mapping ids = caller_id_mapping();
  const runtime::host_context host = runtime::read_host("elements-pack");
  step_pipes pipes;

  child_setup c;
  c.step = &step;
  c.options = &options;
  c.ids = &ids;
  c.host = &host;
  c.work = work.path;
  c.work_fd = work_fd.get();
  c.diff_fd = diff.get();
  c.report_fd = pipes.report.sender();
  c.mapped_read = pipes.mapped_read.get();
  c.unshared_write = pipes.unshared_write.get();

  const pid_t child = start_step(c, pipes);
  scope_exit reap([&] {
    ::kill(child, SIGKILL);
    while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
    }
  });
  pipes.close_child_ends();
  if (ids.uids) map_ids_when_asked(child, ids, pipes, options);
  stream_output(pipes.out_read.get(), options, child);
  const int ws = wait_step(child);
  reap.dismiss();
  interrupted = pending_signal;

  check_step_report(pipes.report, ws, options);
  check(::lseek(diff.get(), 0, SEEK_SET), "rewind", "the step's changes");
  return diff;
}

}  // namespace elements::builder
