#include "builder/sources/host_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "builder/cores.hpp"
#include "elements/error.hpp"
#include "elements/unique_fd.hpp"

namespace elements::builder {
namespace {

bool keep_xattr(std::string_view name) {
  // security.selinux is the host's label, meaningless under the container's
  // policy; capabilities and IMA/EVM data under security.* travel with the file.
  if (name == "security.selinux") return false;
  return name.starts_with("user.") || name.starts_with("security.");
}

#ifndef SYS_listxattrat
#define SYS_listxattrat 465  // Linux 6.13, the same number on every architecture
#endif

// The names of an entry's xattrs, looked up from its folder where the kernel
// can (listxattrat, Linux 6.13), so a deep tree is not walked from the top
// again for each entry.
ssize_t list_xattr_names(int dirfd, const char* name, const std::string& path, char* buf,
                         std::size_t size) {
  static std::atomic<bool> have_at{true};
  if (have_at.load(std::memory_order_relaxed)) {
    const auto n = ::syscall(SYS_listxattrat, dirfd, name, AT_SYMLINK_NOFOLLOW, buf, size);
    if (n >= 0 || errno != ENOSYS) return n;
    have_at.store(false, std::memory_order_relaxed);
  }
  return ::llistxattr(path.c_str(), buf, size);
}

struct xattr_read {
  std::map<std::string, std::string> kept;
  bool acl = false;  // an access ACL may grant or deny more than the mode says
};

xattr_read read_xattrs(int dirfd, const char* entry, const std::string& path) {
  xattr_read out;
  std::string names;
  for (;;) {
    ssize_t n = list_xattr_names(dirfd, entry, path, nullptr, 0);
    if (n <= 0) return out;  // none, or a filesystem without xattrs
    names.resize(static_cast<std::size_t>(n));
    n = list_xattr_names(dirfd, entry, path, names.data(), names.size());
    if (n >= 0) {
      names.resize(static_cast<std::size_t>(n));
      break;
    }
    if (errno != ERANGE) return out;  // grew between the calls: ask again
  }
  for (std::size_t i = 0; i < names.size();) {
    std::string name(names.c_str() + i);
    i += name.size() + 1;
    if (name == "system.posix_acl_access") out.acl = true;
    if (!keep_xattr(name)) continue;
    std::string value;
    for (;;) {
      ssize_t n = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
      if (n < 0) break;  // unreadable for this caller: left out, as promised
      value.resize(static_cast<std::size_t>(n));
      n = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
      if (n >= 0) {
        value.resize(static_cast<std::size_t>(n));
        out.kept.emplace(name, std::move(value));
        break;
      }
      if (errno != ERANGE) break;
    }
  }
  return out;
}

// Reads a folder with a few threads. Each reads folders depth first from a
// stack of its own and hands the upper half of it to the shared queue when
// another thread is idle, so threads seldom wait for each other (handing
// every folder over, 5,400 in the bench's tree, made the read 40 % slower in
// wake-ups). A folder's entries are filled by the one thread that reads it,
// so the tree itself needs no lock; only the hard-link table is shared. With
// the lookups relative to the open folder below, the bench's 200 MB rootfs
// (15,300 entries) is read in 44 ms instead of 115 on 2 cores, time in which
// the compressors would otherwise wait.
class reader {
 public:
  reader(const host_read_options& options, unsigned threads)
      : options_(options), threads_(std::max(1u, threads)) {}

  node_ptr read_top(const std::string& path, const struct stat& st) {
    node_ptr top = read(AT_FDCWD, path.c_str(), path, st);
    if (!top->is_dir()) return top;
    queue_.push_back({path, top.get()});
    pending_ = 1;
    std::vector<std::jthread> helpers;
    try {
      for (unsigned i = 1; i < threads_; ++i) helpers.emplace_back([this] { work(); });
    } catch (const std::system_error&) {
      // No more threads: the ones started (or this one alone) read it all.
    }
    work();
    helpers.clear();  // joins
    if (failure_) std::rethrow_exception(failure_);
    return top;
  }

 private:
  struct folder {
    std::string path;
    node* dir;
  };

  // Reads folders until every folder found has been read, or one failed.
  void work() {
    std::vector<folder> mine;
    std::unique_lock lock(mutex_);
    for (;;) {
      ++idle_;
      changed_.wait(lock, [&] { return !queue_.empty() || pending_ == 0 || failure_; });
      --idle_;
      if (queue_.empty() || failure_) return;
      mine.push_back(std::move(queue_.front()));
      queue_.pop_front();
      lock.unlock();
      try {
        while (!mine.empty() && !failed_) {
          folder f = std::move(mine.back());
          mine.pop_back();
          read_entries(f.path, *f.dir, mine);
          if (idle_ > 0 && mine.size() > 1) share(mine);
          if (--pending_ == 0) {
            std::lock_guard last(mutex_);
            changed_.notify_all();
          }
        }
      } catch (...) {
        std::lock_guard failing(mutex_);
        if (!failure_) failure_ = std::current_exception();
        failed_ = true;
        changed_.notify_all();
      }
      lock.lock();
    }
  }

  // Moves the folders nearest the top, which hold the most below them, to
  // the shared queue.
  void share(std::vector<folder>& mine) {
    const std::size_t half = mine.size() / 2;
    {
      std::lock_guard lock(mutex_);
      for (std::size_t i = 0; i < half; ++i) queue_.push_back(std::move(mine[i]));
    }
    mine.erase(mine.begin(), mine.begin() + static_cast<std::ptrdiff_t>(half));
    changed_.notify_all();
  }

  // `entry` is the name in the folder open as `dirfd` (or the path, with AT_FDCWD).
  node_ptr read(int dirfd, const char* entry, const std::string& path, const struct stat& st) {
    const bool linkable = !S_ISDIR(st.st_mode) && st.st_nlink > 1;
    if (linkable) {
      std::lock_guard lock(links_mutex_);
      if (auto it = seen_.find({st.st_dev, st.st_ino}); it != seen_.end()) return it->second;
    }
    auto n = std::make_shared<node>();
    n->mode = st.st_mode;
    if (options_.mode && !S_ISLNK(st.st_mode)) n->mode = (st.st_mode & S_IFMT) | *options_.mode;
    if (options_.owner) {
      n->uid = options_.owner->first;
      n->gid = options_.owner->second;
    } else {
      n->uid = options_.owners.uid(st.st_uid);
      n->gid = options_.owners.gid(st.st_gid);
    }
    n->mtime = st.st_mtim.tv_sec;
    xattr_read x = read_xattrs(dirfd, entry, path);
    n->xattrs = std::move(x.kept);

    switch (st.st_mode & S_IFMT) {
      case S_IFREG:
        // Checked now rather than when the image is written, so an unreadable
        // file fails the build before minutes of compression. Mode bits that
        // let everyone read (and no ACL) need no question to the kernel.
        if (((st.st_mode & 0444) != 0444 || x.acl) && ::faccessat(dirfd, entry, R_OK, 0) != 0)
          throw_errno("read", path);
        n->content = host_file(path, static_cast<std::uint64_t>(st.st_size));
        break;
      case S_IFLNK:
        n->link_target = read_link(dirfd, entry, path, st);
        break;
      case S_IFCHR:
      case S_IFBLK:
        n->rdev = st.st_rdev;
        break;
      default:
        break;  // folders are read from the queue; fifos and sockets carry nothing but their inode
    }
    if (linkable) {
      // Another thread may have reached the same inode by another name
      // meanwhile: the first one recorded is the one every name shares.
      std::lock_guard lock(links_mutex_);
      return seen_.emplace(std::pair{st.st_dev, st.st_ino}, n).first->second;
    }
    return n;
  }

  static std::string read_link(int dirfd, const char* entry, const std::string& path,
                               const struct stat& st) {
    std::string target(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 256), '\0');
    for (;;) {
      ssize_t n =
          check(::readlinkat(dirfd, entry, target.data(), target.size()), "read the symlink", path);
      if (static_cast<std::size_t>(n) < target.size()) {
        target.resize(static_cast<std::size_t>(n));
        return target;
      }
      target.resize(target.size() * 2);
    }
  }

  // Records the entries of a folder; the folders among them go on `more`.
  void read_entries(const std::string& path, node& dir, std::vector<folder>& more) {
    // O_NOFOLLOW: a folder swapped for a symlink since it was seen is not followed.
    const unique_fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw_errno("read the folder", path);
    // getdents64 itself rather than opendir, which asks the kernel three more
    // questions about each of the thousands of folders.
    alignas(dirent64) static thread_local char buf[32768];
    for (;;) {
      const ssize_t got = ::getdents64(fd.get(), buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw_errno("read the folder", path);
      if (got == 0) break;
      for (ssize_t at = 0; at < got;) {
        const auto* e = reinterpret_cast<const dirent64*>(buf + at);
        at += e->d_reclen;
        read_entry(fd.get(), path, e->d_name, dir, more);
      }
    }
  }

  void read_entry(int fd, const std::string& path, const char* entry, node& dir,
                  std::vector<folder>& more) {
    const std::string_view name = entry;
    if (name == "." || name == "..") return;
    std::string child;
    child.reserve(path.size() + 1 + name.size());
    child.append(path).append(1, '/').append(name);
    struct stat st {};
    check(::fstatat(fd, entry, &st, AT_SYMLINK_NOFOLLOW), "stat", child);
    node_ptr n = read(fd, entry, child, st);
    node* sub = n->is_dir() ? n.get() : nullptr;
    dir.entries.emplace(name, std::move(n));
    if (sub) {
      ++pending_;
      more.push_back({std::move(child), sub});
    }
  }

  const host_read_options& options_;
  const unsigned threads_;

  std::mutex mutex_;  // guards the queue and the failure
  std::condition_variable changed_;
  std::deque<folder> queue_;
  std::exception_ptr failure_;
  std::atomic<std::size_t> pending_ = 0;  // folders found and not yet read
  std::atomic<unsigned> idle_ = 0;        // threads waiting for a folder
  std::atomic<bool> failed_ = false;

  std::mutex links_mutex_;
  std::map<std::pair<dev_t, ino_t>, node_ptr> seen_;
};

}  // namespace

owner_map owner_map::for_caller() {
  if (::geteuid() == 0) return {};
  return {::geteuid(), ::getegid()};
}

node_ptr read_host_tree(const std::filesystem::path& path, const host_read_options& options) {
  std::string top = path.native();
  if (options.follow_top) {
    // Resolved once, so that reading the file later needs no symlink.
    std::unique_ptr<char, void (*)(void*)> real(::realpath(top.c_str(), nullptr), ::free);
    if (!real) throw_errno("read", top);
    top = real.get();
  }
  struct stat st {};
  check(::lstat(top.c_str(), &st), "stat", top);
  reader r(options, options.threads ? options.threads : std::min(8u, usable_cores()));
  return r.read_top(top, st);
}

}  // namespace elements::builder
