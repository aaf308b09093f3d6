// The last rung of the mount ladder: the payload extracted once per user
// into the cache and reused by every later run of the same file.

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "debug_log.hpp"
#include "elements/error.hpp"
#include "sha256.hpp"
#include "squash_extract.hpp"
#include "squash_mount.hpp"

namespace elements::runtime {
namespace {

constexpr std::string_view temp_prefix = ".tmp-";

class cached_tree final : public mounted_payload {
 public:
  cached_tree(std::string root, std::string detail)
      : root_(std::move(root)), detail_(std::move(detail)) {}
  const std::string& root() const override { return root_; }
  mount_method method() const override { return mount_method::extract; }
  std::string detail() const override { return detail_; }

 private:
  std::string root_, detail_;
};

std::string cache_dir() {
  // The XDG spec says to ignore a relative XDG_CACHE_HOME.
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg == '/')
    return std::string(xdg) + "/elements";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.cache/elements";
  throw error(
      "cannot extract the payload: neither XDG_CACHE_HOME nor HOME is set, so there is no cache "
      "directory (hint: set XDG_CACHE_HOME to a directory with room for the payload)");
}

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
std::string payload_digest(const payload_file& file, const std::string& cache) {
  struct stat st;
  check(::fstat(file.fd.get(), &st), "read", file.path);
  char name[128];
  std::snprintf(name, sizeof name, "%llx-%llx-%llx-%llx.%09ld-%llx",
                static_cast<unsigned long long>(st.st_dev),
                static_cast<unsigned long long>(st.st_ino),
                static_cast<unsigned long long>(st.st_size),
                static_cast<unsigned long long>(st.st_ctim.tv_sec), st.st_ctim.tv_nsec,
                static_cast<unsigned long long>(file.offset));
  const std::string index = cache + "/.index";
  const std::string key = index + "/" + name;
  char known[65];
  if (::readlink(key.c_str(), known, sizeof known) == 64) return std::string(known, 64);
  std::string digest = hash_payload(file);
  // Only a shortcut: failing to write it costs a hash next time.
  if (::mkdir(index.c_str(), 0700) == 0 || errno == EEXIST)
    (void)::symlink(digest.c_str(), key.c_str());
  return digest;
}

bool is_dir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
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

std::unique_ptr<mounted_payload> extract_cached(const payload_file& file) {
  const std::string cache = cache_dir();
  make_dirs(cache, 0700);
  const std::string final_dir = cache + "/" + payload_digest(file, cache);
  if (is_dir(final_dir)) return std::make_unique<cached_tree>(final_dir, "reused " + final_dir);

  unique_fd cache_fd(
      check(::open(cache.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open", cache));
  const bool locked = lock_cache(cache_fd.get());
  if (is_dir(final_dir)) return std::make_unique<cached_tree>(final_dir, "reused " + final_dir);
  if (locked) remove_stale_temps(cache_fd.get());

  const std::string digest = final_dir.substr(cache.size() + 1);
  std::string temp = cache + "/" + std::string(temp_prefix) + digest.substr(0, 16) + "-XXXXXX";
  if (!::mkdtemp(temp.data())) throw_errno("create", temp);
  const std::string temp_name = temp.substr(cache.size() + 1);
  scope_exit remove_temp([&] { remove_tree(cache_fd.get(), temp_name.c_str()); });
  {
    unique_fd temp_fd(
        check(::open(temp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open", temp));
    extract_options opts;
    opts.display = final_dir + "/";
    opts.apply_root = true;
    opts.space_hint = "free space on the disk of " + cache +
                      ", or set XDG_CACHE_HOME to a directory on a disk with room";
    extract_tree(file, temp_fd.get(), opts);
  }
  if (::renameat(cache_fd.get(), temp_name.c_str(), cache_fd.get(), digest.c_str()) == 0) {
    remove_temp.dismiss();
  } else if (errno != EEXIST && errno != ENOTEMPTY) {
    throw_errno("rename", temp + " to " + final_dir);
  }
  // else: a run that could not lock the cache finished first; its tree is the same.
  return std::make_unique<cached_tree>(final_dir, "extracted to " + final_dir);
}

}  // namespace elements::runtime
