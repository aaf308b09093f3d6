#include "runtime/mount/squash_extract.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <vector>

#include "elements/error.hpp"
#include "runtime/debug_log.hpp"
#include "runtime/image/squash_image.hpp"

namespace elements::runtime {
namespace {

// Set-id bits would hand the image author's privileges to whoever extracts.
constexpr mode_t kept_bits = 07777 & ~(S_ISUID | S_ISGID);

struct dir_frame {
  std::string path;  // relative to the destination, for messages
  std::string name;
  unique_fd fd;  // once created
  mode_t mode = 0;
  std::uint32_t mtime = 0;
  bool taken = false;  // matched by the pattern: gets its own mode and mtime
};

bool all_zero(const char* p, std::size_t n) {
  return n == 0 || (p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0);
}

class extractor {
 public:
  extractor(const payload_file& file, int dest_fd, const extract_options& opts)
      : img_(file), opts_(opts), dest_fd_(dest_fd), buf_(img_.fs()->sb.block_size) {}

  void run();

 private:
  void walk(const sqfs_inode& dir, const std::string& prefix);
  squash_image img_;
  const extract_options& opts_;
  int dest_fd_;
  std::vector<dir_frame> dirs_;
  std::map<std::uint32_t, std::string> first_link_;  // inode number -> path
  std::set<sqfs_inode_id> seen_;  // directories, and files that are not hard links
  std::vector<char> buf_;
  bool wrote_file_ = false;

  [[noreturn]] void fail(std::string_view what, const std::string& path, int err = errno);
  int current_dir();
  unique_fd make_dir(int parent, const dir_frame& d);
  void leave_dir();
  void replace(int dir, const char* name, const std::string& path);
  void write_file(int dir, const char* name, const std::string& path, const sqfs_inode& in);
  void set_times(int dir, const char* name, const std::string& path, std::uint32_t mtime);
};

void extractor::fail(std::string_view what, const std::string& path, int err) {
  if ((err == ENOSPC || err == EDQUOT) && !opts_.space_hint.empty())
    throw error("cannot " + std::string(what) + " " + opts_.display + path + ": " +
                    std::strerror(err) + " (hint: " + opts_.space_hint + ")",
                exit_start_failed, std::error_code(err, std::generic_category()));
  throw_errno(what, opts_.display + path, err);
}

// Directories are created only when something in them is taken, so a
// pattern does not leave a skeleton of empty ones behind.
int extractor::current_dir() {
  for (std::size_t i = 1; i < dirs_.size(); ++i)
    if (!dirs_[i].fd) dirs_[i].fd = make_dir(dirs_[i - 1].fd.get(), dirs_[i]);
  return dirs_.back().fd.get();
}

unique_fd extractor::make_dir(int parent, const dir_frame& d) {
  const char* name = d.name.c_str();
  // Owner-writable until left: the image's own mode may forbid adding entries.
  if (::mkdirat(parent, name, 0700) != 0 && errno != EEXIST) fail("create", d.path);
  unique_fd fd(::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd && opts_.replace && (errno == ENOTDIR || errno == ELOOP)) {
    if (::unlinkat(parent, name, 0) != 0) fail("replace", d.path);
    if (::mkdirat(parent, name, 0700) != 0) fail("create", d.path);
    fd.reset(::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  }
  if (!fd) fail("open", d.path);
  if (d.taken && opts_.replace) ::fchmod(fd.get(), 0700);
  return fd;
}

void extractor::leave_dir() {
  dir_frame& d = dirs_.back();
  if (d.fd && d.taken) {
    if (::fchmod(d.fd.get(), d.mode & kept_bits) != 0) fail("set the mode of", d.path);
    const timespec times[2] = {{d.mtime, 0}, {d.mtime, 0}};
    if (::futimens(d.fd.get(), times) != 0) fail("set the time of", d.path);
  }
  dirs_.pop_back();
}

void extractor::replace(int dir, const char* name, const std::string& path) {
  if (opts_.replace && ::unlinkat(dir, name, 0) != 0 && errno != ENOENT) fail("replace", path);
}

void extractor::set_times(int dir, const char* name, const std::string& path, std::uint32_t mtime) {
  const timespec times[2] = {{mtime, 0}, {mtime, 0}};
  if (::utimensat(dir, name, times, AT_SYMLINK_NOFOLLOW) != 0) fail("set the time of", path);
}

void extractor::write_file(int dir, const char* name, const std::string& path,
                           const sqfs_inode& in) {
  replace(dir, name, path);
  if (in.nlink > 1) {
    // A failed link (another filesystem, a directory since made read-only)
    // costs only space: fall back to a copy.
    if (auto it = first_link_.find(in.base.inode_number); it != first_link_.end())
      if (::linkat(dest_fd_, it->second.c_str(), dir, name, 0) == 0) return;
  }
  unique_fd fd(::openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) fail("create", path);
  // A file that cannot be read whole is not left half-written.
  scope_exit remove_partial([&] { ::unlinkat(dir, name, 0); });
  const std::uint64_t size = in.xtra.reg.file_size;
  bool holes = false;
  for (std::uint64_t off = 0; off < size;) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf_.size(), size - off));
    std::size_t n = img_.read(in, off, buf_.data(), want, path);
    if (n == 0) img_.damaged(path);
    if (all_zero(buf_.data(), n)) {
      if (::lseek(fd.get(), static_cast<off_t>(n), SEEK_CUR) < 0) fail("write", path);
      holes = true;
    } else {
      for (std::size_t done = 0; done < n;) {
        ssize_t w = ::write(fd.get(), buf_.data() + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) fail("write", path);
        done += static_cast<std::size_t>(w);
      }
    }
    off += n;
  }
  if (holes && ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) fail("write", path);
  if (::fchmod(fd.get(), in.base.mode & kept_bits) != 0) fail("set the mode of", path);
  const timespec times[2] = {{in.base.mtime, 0}, {in.base.mtime, 0}};
  if (::futimens(fd.get(), times) != 0) fail("set the time of", path);
  remove_partial.dismiss();
  if (in.nlink > 1) first_link_.emplace(in.base.inode_number, path);
}

void extractor::run() {
  const sqfs_inode_id root_id = sqfs_inode_root(img_.fs());
  sqfs_inode root = img_.inode(root_id);
  if (!S_ISDIR(root.base.mode)) img_.damaged("the root directory");
  dir_frame top;
  top.fd.reset(check(::fcntl(dest_fd_, F_DUPFD_CLOEXEC, 0), "open", opts_.display));
  top.mode = root.base.mode;
  top.mtime = root.base.mtime;
  top.taken = opts_.apply_root;
  dirs_.push_back(std::move(top));
  seen_.insert(root_id);
  walk(root, "");
  leave_dir();
  std::fflush(stdout);
}

// Depth first, each directory's entries in the order the image lists them.
// A directory reached twice would be a loop (or a tree that doubles at each
// level) in a damaged or crafted image: squashfs directories have one parent.
// Files reached twice are hard links, with a link count to say so.
void extractor::walk(const sqfs_inode& dir, const std::string& prefix) {
  squash_reader& reader = img_.reader();
  squash_dir d;
  if (reader.open_dir(dir, 0, d) != SQFS_OK) img_.damaged("a directory");
  squash_dirent entry;
  sqfs_err err = SQFS_OK;
  while (reader.next(d, entry, err)) {
    const std::string path = prefix + entry.name;
    if (path.size() >= PATH_MAX)
      throw error(img_.path() + ": the payload holds a path longer than " +
                  std::to_string(PATH_MAX) + " bytes under /" + prefix.substr(0, 64) +
                  "... (hint: the file is damaged or crafted; do not use it)");
    const char* name = entry.name.c_str();
    sqfs_inode in = img_.inode(entry.inode);
    const bool taken = opts_.pattern.empty() || path_matches(opts_.pattern, path);
    if (taken && opts_.verbose) std::printf("%s%s\n", opts_.display.c_str(), path.c_str());

    // Each copy of a file listed again without being a hard link would be
    // written out again: a small image could fill the disk.
    const bool again = S_ISDIR(in.base.mode) || (S_ISREG(in.base.mode) && in.nlink <= 1);
    if (again && !seen_.insert(entry.inode).second)
      throw error(img_.path() + ": the payload lists /" + path +
                  " a second time (hint: the file is damaged or crafted; do not use it)");
    if (S_ISDIR(in.base.mode)) {
      dir_frame f;
      f.path = path;
      f.name = entry.name;
      f.mode = in.base.mode;
      f.mtime = in.base.mtime;
      f.taken = taken;
      dirs_.push_back(std::move(f));
      if (taken) current_dir();
      walk(in, path + "/");
      leave_dir();
      continue;
    }
    if (!taken) continue;
    const int dir_fd = current_dir();
    switch (in.base.mode & S_IFMT) {
      case S_IFREG:
        write_file(dir_fd, name, path, in);
        // A point in the middle of an extraction, for debug output and the
        // fault tests (ELEMENTS_STOP_AT).
        if (!wrote_file_) debug::step("extracting: first file written");
        wrote_file_ = true;
        break;
      case S_IFLNK:
        replace(dir_fd, name, path);
        if (::symlinkat(img_.readlink(in).c_str(), dir_fd, name) != 0) fail("create", path);
        set_times(dir_fd, name, path, in.base.mtime);
        break;
      case S_IFIFO:
        replace(dir_fd, name, path);
        if (::mkfifoat(dir_fd, name, in.base.mode & kept_bits) != 0) fail("create", path);
        set_times(dir_fd, name, path, in.base.mtime);
        break;
      default:
        break;
    }
  }
  if (err != SQFS_OK) img_.damaged("a directory");
}

// Whether `c` is in the bracket expression starting at pat[i] (just after
// '['); returns the index after its ']', or npos when it is unterminated.
std::size_t bracket(std::string_view pat, std::size_t i, unsigned char c, bool& in) {
  static constexpr std::pair<std::string_view, int (*)(int)> classes[] = {
      {"alnum", ::isalnum}, {"alpha", ::isalpha}, {"blank", ::isblank}, {"cntrl", ::iscntrl},
      {"digit", ::isdigit}, {"graph", ::isgraph}, {"lower", ::islower}, {"print", ::isprint},
      {"punct", ::ispunct}, {"space", ::isspace}, {"upper", ::isupper}, {"xdigit", ::isxdigit}};
  const bool negate = i < pat.size() && (pat[i] == '!' || pat[i] == '^');
  if (negate) ++i;
  bool hit = false;
  for (bool first = true; i < pat.size() && (first || pat[i] != ']'); first = false) {
    if (pat.substr(i, 2) == "[:") {
      const auto end = pat.find(":]", i + 2);
      if (end == std::string_view::npos) return std::string_view::npos;
      const auto name = pat.substr(i + 2, end - i - 2);
      for (const auto& [n, test] : classes) hit = hit || (n == name && test(c));
      i = end + 2;
      continue;
    }
    auto member = [&] {
      if (pat[i] == '\\' && i + 1 < pat.size()) ++i;
      return static_cast<unsigned char>(pat[i++]);
    };
    const unsigned char lo = member();
    unsigned char hi = lo;
    if (i + 1 < pat.size() && pat[i] == '-' && pat[i + 1] != ']') {
      ++i;
      hi = member();
    }
    hit = hit || (lo <= c && c <= hi);
  }
  if (i >= pat.size()) return std::string_view::npos;
  in = hit != negate;
  return i + 1;
}

}  // namespace

bool path_matches(std::string_view pat, std::string_view path) {
  std::size_t p = 0, s = 0;
  while (p < pat.size()) {
    const char c = pat[p];
    if (c == '*') {
      while (p < pat.size() && pat[p] == '*') ++p;
      for (std::size_t k = s;; ++k) {
        if (path_matches(pat.substr(p), path.substr(k))) return true;
        if (k == path.size() || path[k] == '/') return false;
      }
    }
    if (s == path.size()) return false;
    const char h = path[s];
    if (c == '?') {
      if (h == '/') return false;
      ++p;
    } else if (c == '[' && h != '/') {
      bool in = false;
      const std::size_t end = bracket(pat, p + 1, static_cast<unsigned char>(h), in);
      if (end == std::string_view::npos ? h != '[' : !in) return false;
      p = end == std::string_view::npos ? p + 1 : end;
    } else if (c == '\\') {
      if (p + 1 == pat.size() || pat[p + 1] != h) return false;
      p += 2;
    } else {
      if (c != h) return false;
      ++p;
    }
    ++s;
  }
  return s == path.size() || path[s] == '/';
}

void extract_tree(const payload_file& file, int dest_fd, const extract_options& opts) {
  extractor(file, dest_fd, opts).run();
}

bool remove_tree(int dir_fd, const char* name) {
  if (::unlinkat(dir_fd, name, 0) == 0 || errno == ENOENT) return true;
  unique_fd fd(::openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd && errno == EACCES && ::fchmodat(dir_fd, name, 0700, 0) == 0)
    fd.reset(::openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return false;
  ::fchmod(fd.get(), 0700);
  std::vector<std::string> names;
  if (DIR* d = ::fdopendir(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0))) {
    while (const dirent* e = ::readdir(d))
      if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, ".."))
        names.emplace_back(e->d_name);
    ::closedir(d);
  }
  bool ok = true;
  for (const auto& n : names) ok = remove_tree(fd.get(), n.c_str()) && ok;
  return ::unlinkat(dir_fd, name, AT_REMOVEDIR) == 0 && ok;
}

void make_dirs(const std::string& path, mode_t mode) {
  for (std::size_t i = 1; i <= path.size(); ++i) {
    if (i < path.size() && path[i] != '/') continue;
    const std::string prefix = path.substr(0, i);
    if (::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) throw_errno("create", prefix);
  }
}

void extract_to(const payload_file& file, const std::string& dest, const std::string& pattern,
                bool verbose) {
  make_dirs(dest, 0755);
  unique_fd fd(check(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open", dest));
  extract_options opts;
  opts.pattern = pattern;
  opts.display = dest.ends_with('/') ? dest : dest + "/";
  opts.verbose = verbose;
  opts.replace = true;
  opts.space_hint = "free some space, or extract somewhere else";
  extract_tree(file, fd.get(), opts);
}

}  // namespace elements::runtime
