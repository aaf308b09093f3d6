#include "host_tree.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <map>
#include <memory>

#include "elements/error.hpp"

namespace elements::builder {
namespace {

bool keep_xattr(std::string_view name) {
  // security.selinux is the host's label, meaningless under the container's
  // policy; capabilities and IMA/EVM data under security.* travel with the file.
  if (name == "security.selinux") return false;
  return name.starts_with("user.") || name.starts_with("security.");
}

std::map<std::string, std::string> read_xattrs(const std::string& path) {
  std::map<std::string, std::string> out;
  std::string names;
  for (;;) {
    ssize_t n = ::llistxattr(path.c_str(), nullptr, 0);
    if (n <= 0) return out;  // none, or a filesystem without xattrs
    names.resize(static_cast<std::size_t>(n));
    n = ::llistxattr(path.c_str(), names.data(), names.size());
    if (n >= 0) {
      names.resize(static_cast<std::size_t>(n));
      break;
    }
    if (errno != ERANGE) return out;  // grew between the calls: ask again
  }
  for (std::size_t i = 0; i < names.size();) {
    std::string name(names.c_str() + i);
    i += name.size() + 1;
    if (!keep_xattr(name)) continue;
    std::string value;
    for (;;) {
      ssize_t n = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
      if (n < 0) break;  // unreadable for this caller: left out, as promised
      value.resize(static_cast<std::size_t>(n));
      n = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
      if (n >= 0) {
        value.resize(static_cast<std::size_t>(n));
        out.emplace(name, std::move(value));
        break;
      }
      if (errno != ERANGE) break;
    }
  }
  return out;
}

class reader {
 public:
  explicit reader(const host_read_options& options) : options_(options) {}

  node_ptr read(const std::string& path, const struct stat& st) {
    const bool linkable = !S_ISDIR(st.st_mode) && st.st_nlink > 1;
    if (linkable) {
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
    n->xattrs = read_xattrs(path);

    switch (st.st_mode & S_IFMT) {
      case S_IFREG:
        // Checked now rather than when the image is written, so an unreadable
        // file fails the build before minutes of compression.
        if (::access(path.c_str(), R_OK) != 0) throw_errno("read", path);
        n->content = host_file(path);
        break;
      case S_IFLNK:
        n->link_target = read_link(path, st);
        break;
      case S_IFCHR:
      case S_IFBLK:
        n->rdev = st.st_rdev;
        break;
      case S_IFDIR:
        read_entries(path, *n);
        break;
      default:
        break;  // fifos and sockets carry nothing but their inode
    }
    if (linkable) seen_.emplace(std::pair{st.st_dev, st.st_ino}, n);
    return n;
  }

 private:
  static std::string read_link(const std::string& path, const struct stat& st) {
    std::string target(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 256), '\0');
    for (;;) {
      ssize_t n =
          check(::readlink(path.c_str(), target.data(), target.size()), "read the symlink", path);
      if (static_cast<std::size_t>(n) < target.size()) {
        target.resize(static_cast<std::size_t>(n));
        return target;
      }
      target.resize(target.size() * 2);
    }
  }

  void read_entries(const std::string& path, node& dir) {
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(path.c_str()), ::closedir);
    if (!d) throw_errno("read the folder", path);
    for (;;) {
      errno = 0;
      const dirent* e = ::readdir(d.get());
      if (e == nullptr) {
        if (errno != 0) throw_errno("read the folder", path);
        break;
      }
      std::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      std::string child = path + "/" + std::string(name);
      struct stat st {};
      check(::lstat(child.c_str(), &st), "stat", child);
      dir.entries.emplace(name, read(child, st));
    }
  }

  const host_read_options& options_;
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
  reader r(options);
  return r.read(top, st);
}

}  // namespace elements::builder
