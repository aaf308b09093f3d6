// The last rung of the mount ladder: the payload extracted once per user
// into the cache and reused by every later run of the same file.

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "elements/error.hpp"
#include "elements/private_dir.hpp"
#include "runtime/debug_log.hpp"
#include "runtime/image/sha256.hpp"
#include "runtime/mount/squash_extract.hpp"
#include "runtime/mount/squash_mount.hpp"

namespace elements::runtime {
namespace {

constexpr std::string_view temp_prefix = ".tmp-";

class cached_tree final : public mounted_payload {
 public:
  cached_tree(unique_fd fd, std::string root, std::string detail)
      : fd_(std::move(fd)), root_(std::move(root)), detail_(std::move(detail)) {}
  const std::string& root() const override { return root_; }
  unique_fd take_dir_fd() override { return std::move(fd_); }
  mount_method method() const override { return mount_method::extract; }
  std::string detail() const override { return detail_; }

 private:
  unique_fd fd_;
  std::string root_, detail_;
};

constexpr const char* cache_hint = "set XDG_CACHE_HOME to a folder of your own";

std::string hash_payload(const payload_file& file) {
  sha256 hash;
  std::vector<char> buf(1 << 20);
  for (auto off = static_cast<off_t>(file.offset);;) {
    ssize_t n = ::pread(file.fd.get(), buf.data(), buf.size(), off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read", file.path);
    if (n == 0) break;
    hash.update(buf.data(), static_cast<std::size_t>(n));
    off += n;
  }
  return sha256::hex(hash.digest());
}

// Hashing a large payload on every run would cost more than the extraction
// saves, so the digest is remembered under the file's identity: device,
// inode, size and change time, which no one can set back without root.
std::string payload_digest(const payload_file& file, int cache_fd, const std::string& cache) {
  struct stat st;
  check(::fstat(file.fd.get(), &st), "read", file.path);
  char name[128];
  std::snprintf(name, sizeof name, "%llx-%llx-%llx-%llx.%09ld-%llx",
                static_cast<unsigned long long>(st.st_dev),
                static_cast<unsigned long long>(st.st_ino),
                static_cast<unsigned long long>(st.st_size),
                static_cast<unsigned long long>(st.st_ctim.tv_sec), st.st_ctim.tv_nsec,
                static_cast<unsigned long long>(file.offset));
  const unique_fd index =
      open_private_dir(cache_fd, ".index", cache + "/.index", cache_hint, true, O_PATH);
  char known[65];
  if (::readlinkat(index.get(), name, known, sizeof known) == 64) return std::string(known, 64);
  std::string digest = hash_payload(file);
  // Only a shortcut: failing to write it costs a hash next time.
  (void)::symlinkat(digest.c_str(), index.get(), name);
  return digest;
}

// The finished tree, when there is one. Only this user can have renamed it
// into the cache, the last step of an extraction; it is still checked, so
// that a tree someone else could write into is never run.
std::unique_ptr<mounted_payload> finished_tree(int cache_fd, const std::string& digest,
                                               const std::string& cache, const char* how) {
  const std::string dir = cache + "/" + digest;
  unique_fd fd = open_private_dir(cache_fd, digest, dir, cache_hint, false, O_PATH);
  if (!fd) return nullptr;
  return std::make_unique<cached_tree>(std::move(fd), dir, how + dir);
}

// Serialises extractions into this cache, so a second first run waits for
// the first instead of doing the work twice. Released when `fd` closes, also
// when the process is killed. Filesystems without locks (some NFS setups)
// get no lock and rely on temp-dir-and-rename alone.
bool lock_cache(int fd) {
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return true;
  if (errno != EWOULDBLOCK) return false;
  debug::step("waiting for another run to finish extracting the payload");
  while (::flock(fd, LOCK_EX) != 0)
    if (errno != EINTR) return false;
  return true;
}

// Temp dirs of extractions that were killed. Only safe under the lock:
// whoever extracts holds it until its rename.
void remove_stale_temps(int cache_fd) {
  std::vector<std::string> stale;
  if (DIR* d = ::fdopendir(::fcntl(cache_fd, F_DUPFD_CLOEXEC, 0))) {
    while (const dirent* e = ::readdir(d))
      if (std::string_view(e->d_name).starts_with(temp_prefix)) stale.emplace_back(e->d_name);
    ::closedir(d);
  }
  for (const auto& name : stale) remove_tree(cache_fd, name.c_str());
}

}  // namespace

std::unique_ptr<mounted_payload> extract_cached(const payload_file& file,
                                                const host_folders& folders) {
  const std::string& base = extract_cache_base(folders);
  const std::string cache = base + "/elements";
  // Every step below is relative to this checked descriptor.
  const unique_fd cache_fd =
      open_private_dir(open_base_dir(base, cache_hint).get(), "elements", cache, cache_hint);
  const std::string digest = payload_digest(file, cache_fd.get(), cache);
  if (auto tree = finished_tree(cache_fd.get(), digest, cache, "reused ")) return tree;

  const bool locked = lock_cache(cache_fd.get());
  if (auto tree = finished_tree(cache_fd.get(), digest, cache, "reused ")) return tree;
  if (locked) remove_stale_temps(cache_fd.get());

  const std::string temp_name = make_temp_dir_at(
      cache_fd.get(), std::string(temp_prefix) + digest.substr(0, 16) + "-", 0700, cache);
  const std::string temp = cache + "/" + temp_name;
  scope_exit remove_temp([&] { remove_tree(cache_fd.get(), temp_name.c_str()); });
  {
    unique_fd temp_fd(check(::openat(cache_fd.get(), temp_name.c_str(),
                                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                            "open", temp));
    extract_options opts;
    opts.display = cache + "/" + digest + "/";
    opts.apply_root = true;
    opts.space_hint = "free space on the disk of " + cache +
                      ", or set XDG_CACHE_HOME to a directory on a disk with room";
    extract_tree(file, temp_fd.get(), opts);
    // The payload's root mode, but no one else may write into the tree.
    struct stat st;
    check(::fstat(temp_fd.get(), &st), "inspect", temp);
    if (st.st_mode & (S_IWGRP | S_IWOTH))
      check(::fchmod(temp_fd.get(), st.st_mode & 07755), "set the mode of", temp);
  }
  if (::renameat(cache_fd.get(), temp_name.c_str(), cache_fd.get(), digest.c_str()) == 0) {
    remove_temp.dismiss();
  } else if (errno != EEXIST && errno != ENOTEMPTY) {
    throw_errno("rename", temp + " to " + cache + "/" + digest);
  }
  // else: a run that could not lock the cache finished first; its tree is the same.
  if (auto tree = finished_tree(cache_fd.get(), digest, cache, "extracted to ")) return tree;
  throw error("cannot find " + cache + "/" + digest + " after extracting the payload into it");
}

}  // namespace elements::runtime
