#include "builder/tree.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <memory>

#include "elements/error.hpp"
#include "elements/unique_fd.hpp"

namespace elements::builder {
namespace {

class host_file_content final : public file_content {
 public:
  host_file_content(std::filesystem::path path, std::optional<std::uint64_t> size)
      : path_(std::move(path)), size_(size) {}

  void read(const sink& out) const override {
    // O_NOFOLLOW: the tree recorded a regular file here; a symlink swapped in
    // since must not pull in some other file.
    unique_fd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) throw_errno("read", path_.native());
    // Left uninitialised: zeroing a megabyte for each of thousands of small
    // files cost the packing thread more than reading them.
    constexpr std::size_t chunk = 1 << 20;
    const auto buf = std::make_unique_for_overwrite<unsigned char[]>(chunk);
    for (;;) {
      ssize_t n = ::read(fd.get(), buf.get(), chunk);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw_errno("read", path_.native());
      }
      if (n == 0) break;
      out({buf.get(), static_cast<std::size_t>(n)});
    }
  }

  std::string describe() const override { return path_.native(); }

  std::uint64_t size_hint() const override {
    if (size_) return *size_;
    struct stat st {};
    return ::lstat(path_.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  }

 private:
  std::filesystem::path path_;
  std::optional<std::uint64_t> size_;  // as stat saw it when the tree was read
};

class memory_content final : public file_content {
 public:
  memory_content(std::vector<unsigned char> bytes, std::string what)
      : bytes_(std::move(bytes)), what_(std::move(what)) {}
  void read(const sink& out) const override {
    if (!bytes_.empty()) out(bytes_);
  }
  std::string describe() const override { return what_; }
  std::uint64_t size_hint() const override { return bytes_.size(); }

 private:
  std::vector<unsigned char> bytes_;
  std::string what_;
};

node_ptr make_node(mode_t mode, const made_attrs& attrs) {
  auto n = std::make_shared<node>();
  n->mode = mode;
  n->uid = attrs.uid;
  n->gid = attrs.gid;
  n->mtime = attrs.mtime;
  return n;
}

// Symlink hops allowed while resolving one path, as the kernel's MAXSYMLINKS.
constexpr int max_symlink_hops = 40;

std::deque<std::string> components(std::string_view path) {
  std::deque<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::optional<located> resolve(const node_ptr& root, std::string_view path, bool make,
                               const made_attrs& attrs) {
  struct step {
    node_ptr dir;
    std::string name;
  };
  std::vector<step> stack{{root, ""}};
  std::deque<std::string> todo = components(path);
  int hops = 0;
  while (!todo.empty()) {
    std::string name = std::move(todo.front());
    todo.pop_front();
    if (name == ".") continue;
    if (name == "..") {
      if (stack.size() > 1) stack.pop_back();
      continue;
    }
    node_ptr dir = stack.back().dir;
    auto it = dir->entries.find(name);
    if (todo.empty()) return located{dir, name, it == dir->entries.end() ? nullptr : it->second};
    if (it == dir->entries.end()) {
      if (!make) return std::nullopt;
      it = dir->entries.emplace(name, make_dir(0755, attrs)).first;
    }
    node_ptr next = it->second;
    if (S_ISLNK(next->mode)) {
      if (++hops > max_symlink_hops)
        throw error(std::string(path) + ": too many levels of symbolic links in the rootfs",
                    exit_build_failed);
      auto target = components(next->link_target);
      if (!next->link_target.empty() && next->link_target[0] == '/') stack.resize(1);
      todo.insert(todo.begin(), target.begin(), target.end());
      continue;
    }
    if (!next->is_dir()) {
      if (!make) return std::nullopt;
      throw error(
          "cannot create " + std::string(path) + " in the rootfs: " + name + " is not a directory",
          exit_build_failed);
    }
    stack.push_back({next, name});
  }
  // The path named a directory reached through "." or ".." (or the root).
  if (stack.size() == 1) return located{nullptr, "", root};
  return located{stack[stack.size() - 2].dir, stack.back().name, stack.back().dir};
}

}  // namespace

std::shared_ptr<const file_content> host_file(std::filesystem::path path,
                                              std::optional<std::uint64_t> size) {
  return std::make_shared<host_file_content>(std::move(path), size);
}

std::shared_ptr<const file_content> memory_file(std::vector<unsigned char> bytes,
                                                std::string what) {
  return std::make_shared<memory_content>(std::move(bytes), std::move(what));
}

std::shared_ptr<const file_content> memory_file(std::string_view text, std::string what) {
  return memory_file(std::vector<unsigned char>(text.begin(), text.end()), std::move(what));
}

node_ptr make_dir(mode_t permissions, const made_attrs& attrs) {
  return make_node(S_IFDIR | (permissions & 07777), attrs);
}

node_ptr make_file(mode_t permissions, std::shared_ptr<const file_content> content,
                   const made_attrs& attrs) {
  auto n = make_node(S_IFREG | (permissions & 07777), attrs);
  n->content = std::move(content);
  return n;
}

node_ptr make_symlink(std::string target, const made_attrs& attrs) {
  auto n = make_node(S_IFLNK | 0777, attrs);
  n->link_target = std::move(target);
  return n;
}

std::optional<located> locate(const node_ptr& root, std::string_view path) {
  return resolve(root, path, false, {});
}

located locate_or_make_parents(const node_ptr& root, std::string_view path,
                               const made_attrs& attrs) {
  return *resolve(root, path, true, attrs);
}

}  // namespace elements::builder
