#include "runtime/mount/fuse_server.hpp"

#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "elements/error.hpp"
#include "runtime/debug_log.hpp"
#include "runtime/image/squash_image.hpp"
#include "runtime/image/verified_reads.hpp"
#include "runtime/mount/fuse_requests.hpp"

namespace elements::runtime {
namespace {

// Requests are small (no writes on a read-only mount); the kernel wants room
// for at least 8 KiB and a header with a write of fuse_max_write.
constexpr std::size_t request_buffer = 64 * 1024;
static_assert(request_buffer >= 8192 + fuse_max_write);
// Decompressed data blocks kept by the server. The kernel's reads follow
// page faults and readahead windows, which do not line up with the image's
// blocks: an exec touches blocks of a binary two or three times, and
// libsquashfuse keeps only the last one. 16 blocks of 128 KiB hold a 2 MiB
// binary whole; each is freed when it is evicted.
constexpr std::size_t data_cache_blocks = 16;

// fork() copies only the thread that calls it: a child forked while the
// serving thread is inside a request could inherit a lock that thread holds
// (a sanitizer's allocator lock, a libc one) and wait on it forever. A fork
// therefore waits until the server is between requests.
std::mutex serving;
void hold_serving() {
  serving.lock();
}
void release_serving() {
  serving.unlock();
}

}  // namespace

struct fuse_server::state {
  unique_fd image, connection, stop;
  sqfs fs{};
  bool fs_open = false;
  std::unique_ptr<fuse_requests> requests;
  std::vector<char> request;
  std::thread thread;
  double cpu_ms = 0;  // the serving thread's, for --elements-debug

  ~state() {
    if (thread.joinable()) {
      const std::uint64_t one = 1;
      (void)!::write(stop.get(), &one, sizeof one);
      thread.join();
    }
    requests.reset();
    if (fs_open) close_squash(&fs);
    if (debug::enabled()) report();
  }

  // libsquashfuse keeps per-image caches without locks: one thread serves.
  void serve(int started) {
    const std::uint64_t one = 1;
    (void)!::write(started, &one, sizeof one);
    pollfd fds[2] = {{connection.get(), POLLIN, 0}, {stop.get(), POLLIN, 0}};
    for (;;) {
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return note_cpu();
      }
      if (fds[1].revents) return note_cpu();
      const std::lock_guard<std::mutex> no_fork_meanwhile(serving);
      // Non-blocking: a request may be withdrawn between poll and read
      // (ENOENT), and ENODEV means unmounted or aborted.
      ssize_t n = ::read(connection.get(), request.data(), request.size());
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == ENOENT) continue;
        return note_cpu();
      }
      if (static_cast<std::size_t>(n) < sizeof(fuse_in_header)) continue;
      fuse_in_header h;
      std::memcpy(&h, request.data(), sizeof h);
      if (!requests->handle(h, request.data() + sizeof h, static_cast<std::size_t>(n) - sizeof h))
        return note_cpu();
    }
  }

  void note_cpu() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    cpu_ms = static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
  }

  // One line: the requests the kernel sent, how many blocks were
  // decompressed for them, and the CPU time they took.
  void report() const {
    char tail[80];
    std::snprintf(tail, sizeof tail, "; %llu blocks decompressed; %.3f ms CPU serving",
                  static_cast<unsigned long long>(blocks_decompressed()), cpu_ms);
    debug::step("fuse: " + (requests ? requests->counts() : std::string("0 requests")) + tail);
  }
};

fuse_server::fuse_server(const payload_file& file, unique_fd connection, std::uint32_t root_uid,
                         std::uint32_t root_gid)
    : s_(std::make_unique<state>()) {
  state& s = *s_;
  s.image.reset(check(::fcntl(file.fd.get(), F_DUPFD_CLOEXEC, 0), "open", file.path));
  open_squash(&s.fs, s.image.get(), file.path, file.offset);
  s.fs_open = true;
  // The command sees only EIO; the runner should learn why.
  say_digest_mismatches(s.image.get());
  sqfs_cache_destroy(&s.fs.data_cache);
  s.fs.data_cache = {};
  if (sqfs_block_cache_init(&s.fs.data_cache, data_cache_blocks) != SQFS_OK)
    throw error("cannot serve " + file.path + " over FUSE: out of memory", exit_start_failed);
  s.request.resize(request_buffer);
  check(::fcntl(connection.get(), F_SETFL, O_NONBLOCK), "set up", "the FUSE connection");
  s.connection = std::move(connection);
  s.requests = std::make_unique<fuse_requests>(s.fs, s.connection.get(), root_uid, root_gid);
  s.stop.reset(check(::eventfd(0, EFD_CLOEXEC), "create", "an eventfd"));
  // Signals belong to the main thread, which forwards them to the container.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  scope_exit restore([&] { ::pthread_sigmask(SIG_SETMASK, &old, nullptr); });
  static std::once_flag fork_guard;
  std::call_once(fork_guard,
                 [] { ::pthread_atfork(hold_serving, release_serving, release_serving); });
  // A thread that is still starting may hold locks of the allocator (a
  // sanitizer's, which has no fork handlers); it has none once it serves.
  const unique_fd started(check(::eventfd(0, EFD_CLOEXEC), "create", "an eventfd"));
  try {
    s.thread = std::thread([&s, fd = started.get()] { s.serve(fd); });
  } catch (const std::system_error& e) {
    throw error("cannot start serving " + file.path + " over FUSE: " + e.code().message(),
                exit_start_failed, e.code());
  }
  std::uint64_t value = 0;
  while (::read(started.get(), &value, sizeof value) < 0 && errno == EINTR) {
  }
}

fuse_server::~fuse_server() = default;

void require_thread_possible() {
  // The link exists since Linux 4.12; it resolves only once the namespace
  // has its init, so a new, still empty one shows as an error.
  struct stat link, own, children;
  if (::lstat("/proc/self/ns/pid_for_children", &link) != 0) return;
  if (::stat("/proc/self/ns/pid", &own) == 0 &&
      (::stat("/proc/self/ns/pid_for_children", &children) != 0 || own.st_ino != children.st_ino))
    throw error(
        "cannot serve the payload over FUSE: this process has already unshared its PID namespace, "
        "after which the kernel allows it no new threads (hint: mount the payload before "
        "unshare(CLONE_NEWPID), or use ELEMENTS_MOUNT=extract)");
}

bool fuse_device_usable() {
  unique_fd fd(::open("/dev/fuse", O_RDWR | O_CLOEXEC));
  return static_cast<bool>(fd);
}

namespace {

class fuse_mount final : public mounted_payload {
 public:
  fuse_mount(std::string target, std::unique_ptr<fuse_server> server)
      : target_(std::move(target)), server_(std::move(server)) {}
  ~fuse_mount() override {
    ::umount2(target_.c_str(), MNT_DETACH);
    server_.reset();
  }
  const std::string& root() const override { return target_; }
  mount_method method() const override { return mount_method::fuse; }
  std::string detail() const override { return "in-process, /dev/fuse"; }

 private:
  std::string target_;
  std::unique_ptr<fuse_server> server_;
};

}  // namespace

std::unique_ptr<mounted_payload> mount_fuse(const payload_file& file, const std::string& target) {
  require_thread_possible();
  unique_fd connection(check(::open("/dev/fuse", O_RDWR | O_CLOEXEC), "open", "/dev/fuse"));
  // allow_other: the container's processes may run as other users of this
  // namespace; the namespace itself still confines who gets in.
  const std::string options = "fd=" + std::to_string(connection.get()) +
                              ",rootmode=40000,user_id=" + std::to_string(::getuid()) +
                              ",group_id=" + std::to_string(::getgid()) + ",allow_other";
  if (::mount(file.path.c_str(), target.c_str(), "fuse.squashfuse",
              MS_RDONLY | MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
    const int err = errno;
    if (err == EPERM)
      throw error("cannot mount FUSE on " + target + ": " + std::strerror(err) +
                      " (hint: FUSE in a user namespace needs Linux 4.18 or later; or use "
                      "ELEMENTS_MOUNT=extract)",
                  exit_start_failed, std::error_code(err, std::generic_category()));
    throw_errno("mount FUSE on", target, err);
  }
  scope_exit unmount([&] { ::umount2(target.c_str(), MNT_DETACH); });
  auto server = std::make_unique<fuse_server>(file, std::move(connection));
  unmount.dismiss();
  return std::make_unique<fuse_mount>(target, std::move(server));
}

}  // namespace elements::runtime
