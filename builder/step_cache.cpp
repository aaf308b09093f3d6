#include "step_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "digest.hpp"
#include "elements/error.hpp"

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

std::string summary_of(const fs::path& meta) {
  std::ifstream in(meta);
  std::stringstream text;
  text << in.rdbuf();
  auto doc = nlohmann::json::parse(text.str(), nullptr, false);
  if (doc.is_object() && doc.contains("step") && doc["step"].is_string())
    return doc["step"].get<std::string>();
  return "?";
}

}  // namespace

std::optional<fs::path> step_cache_dir() {
  const char* cache = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  if (cache && *cache == '/') return fs::path(cache) / "elements" / "steps";
  if (home && *home == '/') return fs::path(home) / ".cache" / "elements" / "steps";
  return std::nullopt;
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

unique_fd step_cache::find(const std::string& key) const {
  const fs::path tar = dir_ / (key + ".tar");
  unique_fd fd(::open(tar.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd) ::futimens(fd.get(), nullptr);  // "last used", for cache ls and prune
  return fd;
}

void step_cache::store(const std::string& key, int fd, const std::string& summary) const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec)
    throw error("cannot create the step cache " + dir_.native() + ": " + ec.message(),
                exit_build_failed, ec);
  const std::string suffix = ".tmp." + std::to_string(::getpid());
  const fs::path tar = dir_ / (key + ".tar"), meta = dir_ / (key + ".json");
  {
    std::ofstream out(meta.native() + suffix, std::ios::binary);
    out << nlohmann::json{{"step", summary}, {"created", std::time(nullptr)}}.dump() << '\n';
    if (!out) throw error("cannot write " + meta.native() + suffix, exit_build_failed);
  }
  fs::rename(meta.native() + suffix, meta, ec);
  unique_fd out(
      ::open((tar.native() + suffix).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!out) throw_errno("create", tar.native() + suffix);
  std::vector<char> buf(1 << 20);
  off_t at = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), at);
    if (n < 0) throw_errno("read", "the step's changes");
    if (n == 0) break;
    if (::write(out.get(), buf.data(), static_cast<std::size_t>(n)) != n) {
      ::unlink((tar.native() + suffix).c_str());
      throw_errno("write", tar.native() + suffix);
    }
    at += n;
  }
  if (::fsync(out.get()) != 0 || ::rename((tar.native() + suffix).c_str(), tar.c_str()) != 0) {
    ::unlink((tar.native() + suffix).c_str());
    throw_errno("store", tar.native());
  }
}

std::vector<cache_entry> step_cache::list() const {
  std::vector<cache_entry> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    const fs::path p = e.path();
    if (p.extension() != ".tar" || !is_key(p.stem().native())) continue;
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) continue;
    out.push_back({p.stem().native(), summary_of(dir_ / (p.stem().native() + ".json")),
                   static_cast<std::uint64_t>(st.st_size), st.st_mtime});
  }
  std::sort(out.begin(), out.end(), [](const cache_entry& a, const cache_entry& b) {
    return a.last_used != b.last_used ? a.last_used > b.last_used : a.key < b.key;
  });
  return out;
}

std::vector<cache_entry> step_cache::prune(std::optional<std::int64_t> before) const {
  std::vector<cache_entry> removed;
  for (auto& e : list()) {
    if (before && e.last_used >= *before) continue;
    if (::unlink((dir_ / (e.key + ".tar")).c_str()) != 0 && errno != ENOENT)
      throw_errno("remove", (dir_ / (e.key + ".tar")).native());
    ::unlink((dir_ / (e.key + ".json")).c_str());
    removed.push_back(std::move(e));
  }
  return removed;
}

}  // namespace elements::builder
