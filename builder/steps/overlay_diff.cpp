#include "builder/steps/overlay_diff.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "elements/error.hpp"
#include "elements/unique_fd.hpp"

namespace elements::builder {
namespace {

struct archive_closer {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct entry_closer {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using entry_ptr = std::unique_ptr<archive_entry, entry_closer>;

bool overlay_xattr(const std::string& name) {
  return name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.");
}

class diff_writer {
 public:
  explicit diff_writer(int fd) : a_(archive_write_new()) {
    if (!a_ || archive_write_set_format_pax_restricted(a_.get()) != ARCHIVE_OK ||
        archive_write_open_fd(a_.get(), fd) != ARCHIVE_OK)
      fail("the step's changes", "cannot start the layer");
  }

  void walk(const std::string& dir, const std::string& rel) {
    for (const auto& name : sorted_entries(dir)) {
      const std::string path = dir + "/" + name;
      const std::string in_layer = rel.empty() ? name : rel + "/" + name;
      struct stat st {};
      if (::lstat(path.c_str(), &st) != 0) throw_errno("read the step's change", "/" + in_layer);
      if (S_ISCHR(st.st_mode) && st.st_rdev == 0) {
        marker((rel.empty() ? "" : rel + "/") + ".wh." + name);
        continue;
      }
      add(path, in_layer, st);
      if (S_ISDIR(st.st_mode)) {
        if (opaque(path)) marker(in_layer + "/.wh..wh..opq");
        walk(path, in_layer);
      }
    }
  }

  void finish() {
    if (archive_write_close(a_.get()) != ARCHIVE_OK) fail("the step's changes", "cannot finish");
  }

 private:
  [[noreturn]] void fail(const std::string& what, const std::string& why) {
    const char* detail = archive_error_string(a_.get());
    throw error(why + " " + what + (detail ? std::string(": ") + detail : std::string()),
                exit_build_failed);
  }

  static std::vector<std::string> sorted_entries(const std::string& dir) {
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
    if (!d) throw_errno("read the step's changes in", dir);
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(d.get())) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(std::move(n));
    }
    std::sort(names.begin(), names.end());  // the same changes give the same layer
    return names;
  }

  static std::string xattr_value(const std::string& path, const std::string& name) {
    std::string value(256, '\0');
    for (;;) {
      ssize_t n = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
      if (n >= 0) {
        value.resize(static_cast<std::size_t>(n));
        return value;
      }
      if (errno != ERANGE) return {};
      value.resize(value.size() * 4);
    }
  }

  static bool opaque(const std::string& path) {
    return xattr_value(path, "trusted.overlay.opaque") == "y" ||
           xattr_value(path, "user.overlay.opaque") == "y";
  }

  static std::vector<std::string> xattr_names(const std::string& path) {
    std::string list(1024, '\0');
    ssize_t n;
    while ((n = ::llistxattr(path.c_str(), list.data(), list.size())) < 0 && errno == ERANGE)
      list.resize(list.size() * 4);
    std::vector<std::string> names;
    for (ssize_t i = 0; n > 0 && i < n;) {
      std::string name(list.data() + i);
      i += static_cast<ssize_t>(name.size()) + 1;
      if (!name.empty() && !overlay_xattr(name)) names.push_back(std::move(name));
    }
    return names;
  }

  // An empty regular file whose name carries the meaning (.wh.NAME, .wh..wh..opq).
  void marker(const std::string& in_layer) {
    entry_ptr e(archive_entry_new());
    archive_entry_set_pathname(e.get(), in_layer.c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_size(e.get(), 0);
    if (archive_write_header(a_.get(), e.get()) != ARCHIVE_OK) fail("/" + in_layer, "cannot write");
  }

  void add(const std::string& path, const std::string& in_layer, const struct stat& st) {
    entry_ptr e(archive_entry_new());
    archive_entry_set_pathname(e.get(), in_layer.c_str());
    archive_entry_copy_stat(e.get(), &st);
    for (const auto& name : xattr_names(path)) {
      const std::string value = xattr_value(path, name);
      archive_entry_xattr_add_entry(e.get(), name.c_str(), value.data(), value.size());
    }
    if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
      if (n < 0) throw_errno("read the link", "/" + in_layer);
      target.resize(static_cast<std::size_t>(n));
      archive_entry_set_symlink(e.get(), target.c_str());
    }
    const bool regular = S_ISREG(st.st_mode);
    if (regular && st.st_nlink > 1) {
      auto [it, first] = links_.emplace(std::pair{st.st_dev, st.st_ino}, in_layer);
      if (!first) {
        archive_entry_set_size(e.get(), 0);
        archive_entry_set_hardlink(e.get(), it->second.c_str());
        if (archive_write_header(a_.get(), e.get()) != ARCHIVE_OK)
          fail("/" + in_layer, "cannot write");
        return;
      }
    }
    if (!regular) archive_entry_set_size(e.get(), 0);
    if (archive_write_header(a_.get(), e.get()) != ARCHIVE_OK) fail("/" + in_layer, "cannot write");
    if (regular) copy_data(path, in_layer);
  }

  void copy_data(const std::string& path, const std::string& in_layer) {
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw_errno("read the step's change", "/" + in_layer);
    std::vector<char> buf(1 << 20);
    for (;;) {
      ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      if (n < 0) throw_errno("read the step's change", "/" + in_layer);
      if (n == 0) break;
      if (archive_write_data(a_.get(), buf.data(), static_cast<std::size_t>(n)) != n)
        fail("/" + in_layer, "cannot write");
    }
  }

  std::unique_ptr<archive, archive_closer> a_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

}  // namespace

void write_overlay_diff(const std::string& upper, int out_fd) {
  diff_writer w(out_fd);
  w.walk(upper, "");
  w.finish();
}

}  // namespace elements::builder
