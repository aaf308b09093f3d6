#include "fuse_server.hpp"

#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "debug_log.hpp"
#include "elements/error.hpp"
#include "squash_image.hpp"
#include "verified_reads.hpp"

namespace elements::runtime {
namespace {

// The image never changes while it is served, so whatever the kernel learns
// (entries, misses, attributes, data, listings, link targets) stays true.
constexpr std::uint64_t forever = 0xffffffffULL;  // seconds; the kernel clamps it
constexpr std::uint32_t max_pages = 256;          // 1 MiB per read
// Requests are small (no writes on a read-only mount); the kernel wants room
// for at least 8 KiB and a header with a write of max_write.
constexpr std::size_t request_buffer = 64 * 1024;
constexpr std::uint32_t max_write = 4096;
// Decompressed data blocks kept by the server. The kernel's reads follow
// page faults and readahead windows, which do not line up with the image's
// blocks: an exec touches blocks of a binary two or three times, and
// libsquashfuse keeps only the last one. 16 blocks of 128 KiB hold a 2 MiB
// binary whole; each is freed when it is evicted.
constexpr std::size_t data_cache_blocks = 16;

std::uint32_t encode_dev(unsigned major, unsigned minor) {
  return (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
}

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
  squash_reader reader{&fs};
  bool fs_open = false;
  bool has_xattrs = false;
  std::uint32_t kernel_flags = 0;  // what the kernel offered in INIT
  sqfs_inode_id root_id = 0;
  std::uint32_t root_uid = 0, root_gid = 0;
  std::vector<char> request, data;
  std::vector<squash_xattr> xattrs;
  std::thread thread;
  // For --elements-debug: requests by opcode, and the serving thread's CPU time.
  std::uint32_t counts[64] = {};
  double cpu_ms = 0;

  ~state() {
    if (thread.joinable()) {
      const std::uint64_t one = 1;
      (void)!::write(stop.get(), &one, sizeof one);
      thread.join();
    }
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
      ++counts[std::min<std::uint32_t>(h.opcode, 63)];
      if (!handle(h, request.data() + sizeof h, static_cast<std::size_t>(n) - sizeof h))
        return note_cpu();
    }
  }

  void note_cpu() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    cpu_ms = static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
  }

  // One line: how many requests of each kind the kernel sent, how many
  // blocks were decompressed for them, and the CPU time they took.
  void report() const {
    static constexpr struct {
      std::uint32_t opcode;
      const char* name;
    } names[] = {{FUSE_LOOKUP, "lookup"},     {FUSE_GETATTR, "getattr"},
                 {FUSE_READLINK, "readlink"}, {FUSE_OPEN, "open"},
                 {FUSE_READ, "read"},         {FUSE_OPENDIR, "opendir"},
                 {FUSE_READDIR, "readdir"},   {FUSE_READDIRPLUS, "readdirplus"},
                 {FUSE_GETXATTR, "getxattr"}, {FUSE_LISTXATTR, "listxattr"}};
    std::uint64_t total = 0;
    for (auto c : counts) total += c;
    std::string line = "fuse: " + std::to_string(total) + " requests";
    for (const auto& n : names)
      if (counts[n.opcode]) line += ", " + std::to_string(counts[n.opcode]) + " " + n.name;
    char tail[80];
    std::snprintf(tail, sizeof tail, "; %llu blocks decompressed; %.3f ms CPU serving",
                  static_cast<unsigned long long>(blocks_decompressed()), cpu_ms);
    debug::step(line + tail);
  }

  void reply(const fuse_in_header& h, int err, const void* body = nullptr, std::size_t size = 0) {
    fuse_out_header out{};
    out.len = static_cast<std::uint32_t>(sizeof out + size);
    out.error = -err;
    out.unique = h.unique;
    iovec iov[2] = {{&out, sizeof out}, {const_cast<void*>(body), size}};
    // An error here means the request was interrupted or the connection
    // is gone; either way there is nobody left to tell.
    (void)!::writev(connection.get(), iov, size ? 2 : 1);
  }
  template <typename T>
  void reply(const fuse_in_header& h, const T& body) {
    reply(h, 0, &body, sizeof body);
  }

  sqfs_inode_id id_of(std::uint64_t nodeid) const {
    return nodeid == FUSE_ROOT_ID ? root_id : nodeid - 2;
  }
  std::uint64_t nodeid_of(sqfs_inode_id id) const { return id == root_id ? FUSE_ROOT_ID : id + 2; }
  bool get(std::uint64_t nodeid, sqfs_inode& in) {
    return reader.inode(id_of(nodeid), in) == SQFS_OK;
  }

  fuse_attr attr(const sqfs_inode& in) {
    fuse_attr a{};
    a.ino = in.base.inode_number;
    a.mode = in.base.mode;
    a.nlink = static_cast<std::uint32_t>(in.nlink);
    sqfs_id_t id = 0;
    a.uid = reader.id(in.base.uid, id) == SQFS_OK && id ? id : root_uid;
    id = 0;
    a.gid = reader.id(in.base.guid, id) == SQFS_OK && id ? id : root_gid;
    a.atime = a.mtime = a.ctime = in.base.mtime;
    switch (in.base.mode & S_IFMT) {
      case S_IFREG:
        a.size = in.xtra.reg.file_size;
        break;
      case S_IFDIR:
        a.size = in.xtra.dir.dir_size;
        break;
      case S_IFLNK:
        a.size = in.xtra.symlink_size;
        break;
      case S_IFBLK:
      case S_IFCHR:
        a.rdev = encode_dev(static_cast<unsigned>(in.xtra.dev.major),
                            static_cast<unsigned>(in.xtra.dev.minor));
        break;
    }
    a.blocks = (a.size + 511) / 512;
    a.blksize = fs.sb.block_size;
    return a;
  }

  void init(const fuse_in_header& h, const char* arg, std::size_t len) {
    fuse_init_in in{};
    std::memcpy(&in, arg, std::min(len, sizeof in));
    fuse_init_out out{};
    out.major = FUSE_KERNEL_VERSION;
    out.minor = FUSE_KERNEL_MINOR_VERSION;
    if (in.major != FUSE_KERNEL_VERSION) {  // the kernel retries with our version
      reply(h, 0, &out, 8);
      return;
    }
    out.max_readahead = in.max_readahead;
    kernel_flags = in.flags;
    out.flags = in.flags & (FUSE_ASYNC_READ | FUSE_MAX_PAGES | FUSE_CACHE_SYMLINKS |
                            FUSE_PARALLEL_DIROPS | FUSE_DO_READDIRPLUS);
    out.max_write = max_write;
    out.time_gran = 1;
    out.max_pages = max_pages;
    // Kernels before FUSE 7.23 expect the short reply.
    reply(h, 0, &out, in.minor < 23 ? 24 : sizeof out);
  }

  void lookup(const fuse_in_header& h, const char* name, std::size_t len) {
    sqfs_inode dir;
    if (!len || name[len - 1] || !get(h.nodeid, dir)) return reply(h, EIO);
    if (!S_ISDIR(dir.base.mode)) return reply(h, ENOTDIR);
    squash_dirent entry;
    bool found = false;
    if (reader.lookup(dir, std::string_view(name, len - 1), entry, found) != SQFS_OK)
      return reply(h, EIO);
    fuse_entry_out out{};
    out.entry_valid = forever;
    out.attr_valid = forever;
    // Node 0 is a miss the kernel keeps: loaders and PATH searches probe
    // many names that do not exist.
    if (found) {
      sqfs_inode child;
      if (reader.inode(entry.inode, child) != SQFS_OK) return reply(h, EIO);
      out.nodeid = nodeid_of(entry.inode);
      out.attr = attr(child);
    }
    reply(h, out);
  }

  void getattr(const fuse_in_header& h) {
    sqfs_inode in;
    if (!get(h.nodeid, in)) return reply(h, EIO);
    fuse_attr_out out{};
    out.attr_valid = forever;
    out.attr = attr(in);
    reply(h, out);
  }

  void readlink(const fuse_in_header& h) {
    sqfs_inode in;
    std::string target;
    if (!get(h.nodeid, in) || reader.readlink(in, target) != SQFS_OK) return reply(h, EIO);
    reply(h, 0, target.data(), target.size());
  }

  void open(const fuse_in_header& h, const char* arg, std::size_t len, bool dir) {
    fuse_open_in in{};
    std::memcpy(&in, arg, std::min(len, sizeof in));
    if ((in.flags & O_ACCMODE) != O_RDONLY) return reply(h, EROFS);
    // Nothing is kept per open file, so where the kernel can do without
    // OPEN/OPENDIR (and their RELEASEs) it is told so once: it then keeps the
    // page and directory caches itself and saves four round trips a file.
    if (kernel_flags & (dir ? FUSE_NO_OPENDIR_SUPPORT : FUSE_NO_OPEN_SUPPORT))
      return reply(h, ENOSYS);
    fuse_open_out out{};
    out.open_flags = FOPEN_KEEP_CACHE | (dir ? FOPEN_CACHE_DIR : FOPEN_NOFLUSH);
    reply(h, out);
  }

  void read(const fuse_in_header& h, const char* arg, std::size_t len) {
    fuse_read_in in{};
    std::memcpy(&in, arg, std::min(len, sizeof in));
    sqfs_inode file;
    if (!get(h.nodeid, file) || !S_ISREG(file.base.mode)) return reply(h, EIO);
    data.resize(std::min<std::size_t>(in.size, max_pages * 4096));
    std::size_t n = data.size();
    if (reader.read(file, in.offset, data.data(), n) != SQFS_OK) return reply(h, EIO);
    reply(h, 0, data.data(), n);
  }

  // READDIRPLUS gives each entry's node and attributes with the listing, so
  // a walk over the tree needs no LOOKUP per name.
  void readdir(const fuse_in_header& h, const char* arg, std::size_t len, bool plus) {
    fuse_read_in in{};
    std::memcpy(&in, arg, std::min(len, sizeof in));
    sqfs_inode dir;
    squash_dir d;
    if (!get(h.nodeid, dir) || reader.open_dir(dir, in.offset, d) != SQFS_OK) return reply(h, EIO);
    data.assign(in.size, 0);
    squash_dirent entry;
    sqfs_err err = SQFS_OK;
    std::size_t used = 0;
    while (reader.next(d, entry, err)) {
      const std::size_t name_len = entry.name.size();
      const std::size_t head = plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
      const std::size_t size = FUSE_DIRENT_ALIGN(head + name_len);
      if (used + size > data.size()) break;
      if (plus) {
        fuse_entry_out e{};
        sqfs_inode child;
        if (reader.inode(entry.inode, child) != SQFS_OK) return reply(h, EIO);
        e.nodeid = nodeid_of(entry.inode);
        e.entry_valid = e.attr_valid = forever;
        e.attr = attr(child);
        std::memcpy(data.data() + used, &e, sizeof e);
        used += sizeof e;
      }
      fuse_dirent de{};
      de.ino = entry.inode_number;
      de.off = entry.next_offset;
      de.namelen = static_cast<std::uint32_t>(name_len);
      de.type = (sqfs_mode(entry.type) & S_IFMT) >> 12;
      std::memcpy(data.data() + used, &de, FUSE_NAME_OFFSET);
      std::memcpy(data.data() + used + FUSE_NAME_OFFSET, entry.name.data(), name_len);
      used += size - (plus ? sizeof(fuse_entry_out) : 0);
    }
    if (err != SQFS_OK) return reply(h, EIO);
    reply(h, 0, data.data(), used);
  }

  void statfs(const fuse_in_header& h) {
    fuse_statfs_out out{};
    out.st.bsize = out.st.frsize = fs.sb.block_size;
    out.st.blocks = (fs.sb.bytes_used + fs.sb.block_size - 1) / fs.sb.block_size;
    out.st.files = fs.sb.inodes;
    out.st.namelen = SQUASHFS_NAME_LEN;
    reply(h, out);
  }

  void getxattr(const fuse_in_header& h, const char* arg, std::size_t len) {
    fuse_getxattr_in in{};
    if (len <= sizeof in || arg[len - 1]) return reply(h, EINVAL);
    std::memcpy(&in, arg, sizeof in);
    sqfs_inode file;
    if (!get(h.nodeid, file) || reader.xattrs(file, xattrs) != SQFS_OK) return reply(h, EIO);
    const std::string_view name(arg + sizeof in);
    const auto it = std::find_if(xattrs.begin(), xattrs.end(),
                                 [&](const squash_xattr& x) { return x.name == name; });
    if (it == xattrs.end()) return reply(h, ENODATA);
    if (in.size == 0) {
      fuse_getxattr_out out{};
      out.size = static_cast<std::uint32_t>(it->value.size());
      return reply(h, out);
    }
    if (it->value.size() > in.size) return reply(h, ERANGE);
    reply(h, 0, it->value.data(), it->value.size());
  }

  void listxattr(const fuse_in_header& h, const char* arg, std::size_t len) {
    fuse_getxattr_in in{};
    std::memcpy(&in, arg, std::min(len, sizeof in));
    sqfs_inode file;
    if (!get(h.nodeid, file) || reader.xattrs(file, xattrs) != SQFS_OK) return reply(h, EIO);
    data.clear();
    for (const auto& x : xattrs) {
      data.insert(data.end(), x.name.begin(), x.name.end());
      data.push_back('\0');
    }
    if (in.size == 0) {
      fuse_getxattr_out out{};
      out.size = static_cast<std::uint32_t>(data.size());
      return reply(h, out);
    }
    if (data.size() > in.size) return reply(h, ERANGE);
    reply(h, 0, data.data(), data.size());
  }

  // False when the kernel says the filesystem is going away.
  bool handle(const fuse_in_header& h, const char* arg, std::size_t len) {
    switch (h.opcode) {
      case FUSE_INIT:
        init(h, arg, len);
        break;
      case FUSE_LOOKUP:
        lookup(h, arg, len);
        break;
      case FUSE_GETATTR:
        getattr(h);
        break;
      case FUSE_READLINK:
        readlink(h);
        break;
      case FUSE_OPEN:
        open(h, arg, len, false);
        break;
      case FUSE_OPENDIR:
        open(h, arg, len, true);
        break;
      case FUSE_READ:
        read(h, arg, len);
        break;
      case FUSE_READDIR:
      case FUSE_READDIRPLUS:
        readdir(h, arg, len, h.opcode == FUSE_READDIRPLUS);
        break;
      case FUSE_RELEASE:
      case FUSE_RELEASEDIR:
        reply(h, 0);
        break;
      case FUSE_STATFS:
        statfs(h);
        break;
      // ENOSYS tells the kernel never to ask again: an image without
      // xattrs saves a round trip per exec (security.capability).
      case FUSE_GETXATTR:
        has_xattrs ? getxattr(h, arg, len) : reply(h, ENOSYS);
        break;
      case FUSE_LISTXATTR:
        has_xattrs ? listxattr(h, arg, len) : reply(h, ENOSYS);
        break;
      case FUSE_FORGET:
      case FUSE_BATCH_FORGET:
      case FUSE_INTERRUPT:
        break;  // no reply: node ids are stateless, requests short
      case FUSE_DESTROY:
        reply(h, 0);
        return false;
      default:
        reply(h, ENOSYS);
        break;  // ACCESS, FLUSH, locks...: the kernel's defaults
    }
    return true;
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
  s.root_id = sqfs_inode_root(&s.fs);
  s.has_xattrs = s.reader.has_xattrs();
  s.root_uid = root_uid;
  s.root_gid = root_gid;
  s.request.resize(request_buffer);
  check(::fcntl(connection.get(), F_SETFL, O_NONBLOCK), "set up", "the FUSE connection");
  s.connection = std::move(connection);
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
