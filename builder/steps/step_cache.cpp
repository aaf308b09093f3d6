#include "builder/steps/step_cache.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <map>

#include <nlohmann/json.hpp>

#include "builder/digest.hpp"
#include "elements/error.hpp"
#include "elements/private_dir.hpp"
#include "runtime/host_context.hpp"

namespace elements::builder {
namespace {

namespace fs = std::filesystem;

void feed(sha256_hasher& h, std::string_view text) {
  h.update({reinterpret_cast<const unsigned char*>(text.data()), text.size()});
  h.update({reinterpret_cast<const unsigned char*>("\0"), 1});
}

class tree_hasher {
 public:
  std::string digest(const node_ptr& root) {
    walk(*root, "/");
    return h_.digest();
  }

 private:
  void walk(const node& n, const std::string& path) {
    feed(h_, path);
    if (auto [it, first] = seen_.emplace(&n, path); !first && !n.is_dir()) {
      feed(h_, "link " + it->second);  // a hard link: the same inode again
      return;
    }
    feed(h_, std::to_string(n.mode) + " " + std::to_string(n.uid) + ":" + std::to_string(n.gid) +
                 " " + std::to_string(n.mtime) + " " + std::to_string(n.rdev));
    for (const auto& [name, value] : n.xattrs) {
      feed(h_, name);
      feed(h_, value);
    }
    if (S_ISLNK(n.mode)) feed(h_, n.link_target);
    if (n.content) {
      sha256_hasher bytes;
      n.content->read([&](std::span<const unsigned char> b) { bytes.update(b); });
      feed(h_, bytes.digest());
    }
    for (const auto& [name, entry] : n.entries)
      walk(*entry, path == "/" ? "/" + name : path + "/" + name);
    feed(h_, "end " + path);
  }

  sha256_hasher h_;
  std::map<const node*, std::string> seen_;
};

bool is_key(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string summary_of(int dir, const std::string& name) {
  unique_fd fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  std::string text;
  char buf[4096];
  for (ssize_t n; fd && (n = ::read(fd.get(), buf, sizeof buf)) > 0;)
    text.append(buf, static_cast<std::size_t>(n));
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_object() && doc.contains("step") && doc["step"].is_string())
    return doc["step"].get<std::string>();
  return "?";
}

void write_all(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("write", path);
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

constexpr const char* cache_hint = "set XDG_CACHE_HOME to a folder of your own, or use --no-cache";

}  // namespace

std::optional<fs::path> step_cache_dir() {
  // The runtime's own rule, so the step cache sits beside its extract cache.
  const std::string cache = runtime::folders_of(runtime::read_host(nullptr)).cache;
  if (cache.empty()) return std::nullopt;
  return fs::path(cache);
}

std::string tree_digest(const node_ptr& root) {
  return tree_hasher().digest(root);
}

std::string step_key(const std::string& previous, const std::string& step_json,
                     const std::string& content_digest) {
  sha256_hasher h;
  feed(h, "elements-pack step cache 1");
  feed(h, previous);
  feed(h, step_json);
  feed(h, content_digest);
  return h.digest().substr(7);  // the hex digits, a file name
}

unique_fd step_cache::open(bool create) const {
  const unique_fd base = open_base_dir(base_.native(), cache_hint, create);
  if (!base) return {};
  const unique_fd top = open_private_dir(base.get(), "elements", (base_ / "elements").native(),
                                         cache_hint, create, O_PATH);
  if (!top) return {};
  return open_private_dir(top.get(), "steps", dir_.native(), cache_hint, create);
}

unique_fd step_cache::find(const std::string& key) const {
  const unique_fd dir = open(false);
  if (!dir) return {};
  unique_fd fd(::openat(dir.get(), (key + ".tar").c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd) ::futimens(fd.get(), nullptr);  // "last used", for cache ls and prune
  return fd;
}

void step_cache::store(const std::string& key, int fd, const std::string& summary) const {
  const unique_fd dir = open(true);
  const std::string suffix = ".tmp." + std::to_string(::getpid());
  const std::string tar = key + ".tar", meta = key + ".json";
  const std::string shown = (dir_ / tar).native() + suffix;
  {
    const std::string name = meta + suffix;
    unique_fd out(::openat(dir.get(), name.c_str(),
                           O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!out) throw_errno("create", (dir_ / name).native());
    write_all(out.get(),
              nlohmann::json{{"step", summary}, {"created", std::time(nullptr)}}.dump() + "\n",
              (dir_ / name).native());
    (void)::renameat(dir.get(), name.c_str(), dir.get(), meta.c_str());
  }
  const std::string name = tar + suffix;
  unique_fd out(::openat(dir.get(), name.c_str(),
                         O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!out) throw_errno("create", shown);
  scope_exit remove([&] { ::unlinkat(dir.get(), name.c_str(), 0); });
  std::vector<char> buf(1 << 20);
  off_t at = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), at);
    if (n < 0) throw_errno("read", "the step's changes");
    if (n == 0) break;
    write_all(out.get(), {buf.data(), static_cast<std::size_t>(n)}, shown);
    at += n;
  }
  if (::fsync(out.get()) != 0 || ::renameat(dir.get(), name.c_str(), dir.get(), tar.c_str()) != 0)
    throw_errno("store", (dir_ / tar).native());
  remove.dismiss();
}

std::vector<cache_entry> step_cache::list() const {
  std::vector<cache_entry> out;
  const unique_fd dir = open(false);
  if (!dir) return out;
  std::vector<std::string> names;
  if (DIR* d = ::fdopendir(::fcntl(dir.get(), F_DUPFD_CLOEXEC, 0))) {
    while (const dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
    ::closedir(d);
  }
  for (const auto& name : names) {
    if (!name.ends_with(".tar")) continue;
    const std::string key = name.substr(0, name.size() - 4);
    struct stat st {};
    if (!is_key(key) || ::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode))
      continue;
    out.push_back({key, summary_of(dir.get(), key + ".json"),
                   static_cast<std::uint64_t>(st.st_size), st.st_mtime});
  }
  std::sort(out.begin(), out.end(), [](const cache_entry& a, const cache_entry& b) {
    return a.last_used != b.last_used ? a.last_used > b.last_used : a.key < b.key;
  });
  return out;
}

std::vector<cache_entry> step_cache::prune(std::optional<std::int64_t> before) const {
  std::vector<cache_entry> removed;
  const unique_fd dir = open(false);
  if (!dir) return removed;
  for (auto& e : list()) {
    if (before && e.last_used >= *before) continue;
    if (::unlinkat(dir.get(), (e.key + ".tar").c_str(), 0) != 0 && errno != ENOENT)
      throw_errno("remove", (dir_ / (e.key + ".tar")).native());
    ::unlinkat(dir.get(), (e.key + ".json").c_str(), 0);
    removed.push_back(std::move(e));
  }
  return removed;
}

}  // namespace elements::builder
