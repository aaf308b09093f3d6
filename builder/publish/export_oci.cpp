#include "builder/publish/export_oci.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <ctime>
#include <map>

#include "builder/digest.hpp"
#include "builder/squashfs/spool.hpp"
#include "elements/error.hpp"
#include "elements/expand.hpp"
#include "elements/syntax.hpp"
#include "elements/unique_fd.hpp"

namespace elements::builder {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::string_view default_path =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

bool is_tag(std::string_view t) {
  auto ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  return !t.empty() && t.size() <= 128 && ok(t[0]) &&
         std::all_of(t.begin(), t.end(), [&](char c) { return ok(c) || c == '.' || c == '-'; });
}

// What a spec string means before any run: arg defaults by arg name, then
// ELEMENTS_NAME; the instance, the caller's args and the host are unknown.
class static_names {
 public:
  explicit static_names(const spec& s) {
    names_["ELEMENTS_NAME"] = s.name;
    for (const auto& a : s.args) {
      std::string name = a.name;
      std::replace(name.begin(), name.end(), '-', '_');
      if (a.type == arg_type::bool_)
        names_[name] = a.default_value && to_bool(*a.default_value) ? "1" : "";
      else if (a.default_value)
        names_[name] = *a.default_value;
    }
  }
  // The expansion, or nullopt (and a warning) when it needs a run.
  std::optional<std::string> expand(const std::string& where, const std::string& text,
                                    std::vector<std::string>& warnings,
                                    const char* instead = "the image leaves it out") const {
    bool unknown = false;
    std::string v;
    try {
      v = elements::expand(text, [&](std::string_view n) -> std::optional<std::string> {
        if (auto it = names_.find(std::string(n)); it != names_.end()) return it->second;
        unknown = true;
        return std::nullopt;
      });
    } catch (const error&) {
      unknown = true;
    }
    if (!unknown) return v;
    warnings.push_back("/run" + where + ": \"" + text + "\" needs the values of a run; " + instead);
    return std::nullopt;
  }
  // As the runtime reads the bool words: any case, anything else false.
  static bool to_bool(const std::string& v) { return parse_bool(v).value_or(false); }

 private:
  std::map<std::string, std::string> names_;
};

std::string go_arch() {
  utsname u{};
  ::uname(&u);
  const std::string m = u.machine;
  if (m == "x86_64") return "amd64";
  if (m == "aarch64") return "arm64";
  if (m.size() == 4 && m[0] == 'i' && m.substr(2) == "86") return "386";
  if (m.rfind("armv", 0) == 0) return "arm";
  return m;  // ppc64le, s390x, riscv64 are spelled the same
}

std::string rfc3339(std::int64_t epoch) {
  const std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// --- the layer: a tar of the tree, in byte order, with libarchive ---

class tar_writer {
 public:
  tar_writer(int fd, std::optional<std::int64_t> epoch) : epoch_(epoch) {
    a_ = ::archive_write_new();
    if (!a_ || ::archive_write_set_format_pax_restricted(a_) != ARCHIVE_OK ||
        ::archive_write_open_fd(a_, fd) != ARCHIVE_OK)
      fail("start");
  }
  ~tar_writer() { ::archive_write_free(a_); }
  tar_writer(const tar_writer&) = delete;
  tar_writer& operator=(const tar_writer&) = delete;

  void tree(const node_ptr& n, const std::string& path) {
    entry(*n, path.empty() ? "./" : path);
    for (const auto& [name, child] : n->entries) {
      const std::string p = path + name;
      if (child->is_dir())
        tree(child, p + "/");
      else
        entry(*child, p);
    }
  }
  void close() {
    if (::archive_write_close(a_) != ARCHIVE_OK) fail("finish");
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    throw error("cannot " + what + " the image layer: " +
                (a_ && ::archive_error_string(a_) ? ::archive_error_string(a_) : "out of memory"));
  }

  void entry(const node& n, const std::string& path) {
    if (S_ISSOCK(n.mode)) return;  // a socket is made by a running program
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(::archive_entry_new(),
                                                               ::archive_entry_free);
    ::archive_entry_set_pathname(e.get(), path.c_str());
    ::archive_entry_set_mode(e.get(), n.mode);
    ::archive_entry_set_uid(e.get(), n.uid);
    ::archive_entry_set_gid(e.get(), n.gid);
    ::archive_entry_set_mtime(e.get(), epoch_ ? std::min(n.mtime, *epoch_) : n.mtime, 0);
    for (const auto& [name, value] : n.xattrs)
      ::archive_entry_xattr_add_entry(e.get(), name.c_str(), value.data(), value.size());
    content bytes;
    if (S_ISLNK(n.mode)) {
      ::archive_entry_set_symlink(e.get(), n.link_target.c_str());
    } else if (S_ISCHR(n.mode) || S_ISBLK(n.mode)) {
      ::archive_entry_set_rdev(e.get(), n.rdev);
    } else if (S_ISREG(n.mode)) {
      // A node met again is a hard link to where it was first written.
      auto [it, first] = seen_.emplace(&n, path);
      if (!first) {
        ::archive_entry_set_hardlink(e.get(), it->second.c_str());
        ::archive_entry_set_size(e.get(), 0);
      } else if (n.content) {
        n.content->read([&](std::span<const unsigned char> b) { bytes.add(b); });
      }
      if (first) ::archive_entry_set_size(e.get(), static_cast<la_int64_t>(bytes.size));
    }
    if (::archive_write_header(a_, e.get()) < ARCHIVE_OK) fail("write " + path + " into");
    bytes.each([&](std::span<const unsigned char> b) {
      if (::archive_write_data(a_, b.data(), b.size()) != static_cast<la_ssize_t>(b.size()))
        fail("write " + path + " into");
    });
  }

  // A file's bytes, whose size the tar header needs first: held in memory,
  // or in a temporary file once they outgrow it.
  struct content {
    static constexpr std::size_t in_memory = 8 << 20;
    std::vector<unsigned char> memory;
    unique_fd spill;
    std::optional<room_guard> room;
    std::uint64_t size = 0;

    void add(std::span<const unsigned char> b) {
      size += b.size();
      if (!spill && memory.size() + b.size() <= in_memory) {
        memory.insert(memory.end(), b.begin(), b.end());
        return;
      }
      if (!spill) {
        spill = temporary_file();
        room.emplace(temp_folder(), "temporary copy of a file of the image");
        write_all(memory);
        memory.clear();
      }
      write_all(b);
    }
    void write_all(std::span<const unsigned char> b) {
      room->before_write(spill.get(), size - b.size(), b.size());
      for (std::size_t done = 0; done < b.size();) {
        const ssize_t n = ::write(spill.get(), b.data() + done, b.size() - done);
        if (n <= 0) throw_errno("write", "a temporary file");
        done += static_cast<std::size_t>(n);
      }
    }
    template <typename F>
    void each(const F& out) const {
      if (!spill) {
        if (!memory.empty()) out(std::span<const unsigned char>(memory));
        return;
      }
      std::vector<unsigned char> buf(1 << 20);
      for (off_t at = 0;;) {
        const ssize_t n = ::pread(spill.get(), buf.data(), buf.size(), at);
        if (n < 0) throw_errno("read", "a temporary file");
        if (n == 0) break;
        out(std::span<const unsigned char>(buf.data(), static_cast<std::size_t>(n)));
        at += n;
      }
    }
  };

  archive* a_ = nullptr;
  std::optional<std::int64_t> epoch_;
  std::map<const node*, std::string> seen_;
};

// gzip of `in` (from offset 0) into `out`, with no name or time in its
// header so the same tar gives the same bytes.
void gzip(int in, int out, const std::string& what) {
  z_stream z{};
  if (::deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw error("cannot compress " + what + ": zlib failed to start");
  scope_exit end([&] { ::deflateEnd(&z); });
  std::vector<unsigned char> ibuf(1 << 16), obuf(1 << 16);
  off_t offset = 0;
  int flush = Z_NO_FLUSH;
  while (flush != Z_FINISH) {
    const ssize_t n = ::pread(in, ibuf.data(), ibuf.size(), offset);
    if (n < 0) throw_errno("read", what);
    offset += n;
    flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
    z.next_in = ibuf.data();
    z.avail_in = static_cast<uInt>(n);
    do {
      z.next_out = obuf.data();
      z.avail_out = static_cast<uInt>(obuf.size());
      ::deflate(&z, flush);
      const std::size_t have = obuf.size() - z.avail_out;
      if (have && ::write(out, obuf.data(), have) != static_cast<ssize_t>(have))
        throw_errno("write", what);
    } while (z.avail_out == 0);
  }
}

json descriptor(const char* media_type, const std::string& digest, std::uint64_t size) {
  return {{"mediaType", media_type}, {"digest", digest}, {"size", size}};
}

// The descriptor of what `fd` holds.
json put_blob_fd(int fd, const char* media_type, const std::string& what) {
  const std::string digest = sha256_of_fd(fd, what);
  const off_t size = ::lseek(fd, 0, SEEK_END);
  return descriptor(media_type, digest, static_cast<std::uint64_t>(size));
}

// blobs/sha256/HEX of `dir`, named by the digest of `bytes`.
json put_blob(const fs::path& dir, const std::string& bytes, const char* media_type) {
  sha256_hasher h;
  h.update({reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()});
  const std::string digest = h.digest();
  const fs::path path = dir / "blobs" / "sha256" / digest.substr(7);
  unique_fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd || ::write(fd.get(), bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()))
    throw_errno("write", path.native());
  return descriptor(media_type, digest, bytes.size());
}

void write_text(const fs::path& path, const std::string& text) {
  unique_fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    throw_errno("write", path.native());
}

// DIR without a trailing slash, so that it has a name to rename onto.
fs::path target_dir(const oci_target& target) {
  return target.dir.has_filename() ? target.dir : target.dir.parent_path();
}

}  // namespace

oci_target parse_oci_target(std::string_view text) {
  const std::string shape = " (give oci:DIR or oci:DIR:TAG)";
  if (text.rfind("oci:", 0) != 0)
    throw usage_error("export: \"" + std::string(text) + "\" is not an image target" + shape);
  std::string_view rest = text.substr(4);
  oci_target t;
  if (auto colon = rest.rfind(':'); colon != std::string_view::npos &&
                                    is_tag(rest.substr(colon + 1)) &&
                                    rest.substr(colon + 1).find('/') == std::string_view::npos) {
    t.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
  }
  if (rest.empty())
    throw usage_error("export: \"" + std::string(text) + "\" names no folder" + shape);
  t.dir = fs::path(rest);
  return t;
}

json oci_image_config(const definition& def, std::vector<std::string>& warnings) {
  const spec& s = def.run;
  const static_names names(s);
  json c = json::object();

  json entrypoint = json::array();
  for (std::size_t i = 0; i < s.command.size(); ++i) {
    auto w = names.expand("/command/" + std::to_string(i), s.command[i], warnings,
                          "the image keeps it as written");
    entrypoint.push_back(w ? *w : s.command[i]);
  }
  c["Entrypoint"] = entrypoint;

  // The environment a run without arguments gets, as far as it is known.
  std::vector<std::pair<std::string, std::string>> env = {{"PATH", std::string(default_path)}};
  auto set = [&](const std::string& n, const std::string& v) {
    auto it = std::find_if(env.begin(), env.end(), [&](const auto& e) { return e.first == n; });
    if (it != env.end())
      it->second = v;
    else
      env.emplace_back(n, v);
  };
  for (const auto& [name, e] : s.env) {
    auto v = names.expand("/env/" + name, e.value, warnings);
    if (!v) continue;
    if (e.type == arg_type::bool_) *v = static_names::to_bool(*v) ? "1" : "0";
    set(name, *v);
  }
  for (const auto& a : s.args) {
    if (a.kind != arg_kind::env) continue;
    if (a.type == arg_type::bool_)
      set(a.target, a.default_value && static_names::to_bool(*a.default_value) ? "1" : "0");
    else if (a.default_value)
      if (auto v = names.expand("/args/" + a.name + "/default", *a.default_value, warnings))
        set(a.target, *v);
  }
  set("ELEMENTS_NAME", s.name);
  json env_json = json::array();
  for (const auto& [n, v] : env) env_json.push_back(n + "=" + v);
  c["Env"] = env_json;

  if (auto w = names.expand("/workdir", s.workdir, warnings)) c["WorkingDir"] = *w;
  // "keep" maps the caller's uid, which only a run knows: the image's default.
  if (s.user == user_mode::root) c["User"] = "0:0";
  json volumes = json::object();
  for (const auto& a : s.args)
    if (a.kind == arg_kind::bind)
      if (auto t = names.expand("/args/" + a.name + "/bind", a.target, warnings))
        volumes[*t] = json::object();
  if (!volumes.empty()) c["Volumes"] = volumes;
  c["Labels"] = {{"org.opencontainers.image.title", s.name}};
  if (!s.description.empty()) c["Labels"]["org.opencontainers.image.description"] = s.description;
  return c;
}

bool check_oci_target(const oci_target& target) {
  const fs::path dir = target_dir(target);
  std::error_code ec;
  const bool exists = fs::exists(fs::symlink_status(dir, ec));
  if (exists && (!fs::is_directory(dir, ec) || !fs::is_empty(dir, ec)))
    throw usage_error("export: \"" + dir.native() +
                      "\" exists and is not an empty folder (give a new or empty folder)");
  const fs::path parent = dir.has_parent_path() ? dir.parent_path() : fs::path(".");
  if (!fs::is_directory(parent, ec))
    throw usage_error("export: the folder \"" + parent.native() +
                      "\" does not exist (create it first)");
  return exists;
}

oci_export export_oci(const node_ptr& rootfs, const definition& def, const oci_target& target,
                      std::optional<std::int64_t> epoch, std::vector<std::string>& warnings) {
  const bool exists = check_oci_target(target);
  const fs::path dir = target_dir(target);
  const fs::path parent = dir.has_parent_path() ? dir.parent_path() : fs::path(".");
  std::error_code ec;

  // Built beside DIR and renamed into place: the layout appears whole.
  const fs::path temp = parent / (dir.filename().native() + ".tmp." + std::to_string(::getpid()));
  scope_exit remove([&] { fs::remove_all(temp, ec); });
  fs::create_directories(temp / "blobs" / "sha256");

  unique_fd tar = temporary_file();
  {
    tar_writer w(tar.get(), epoch);
    w.tree(rootfs, "");
    w.close();
  }
  const std::string diff_id = sha256_of_fd(tar.get(), "the image layer");
  const fs::path layer_temp = temp / "blobs" / "layer.tmp";
  unique_fd layer(check(::open(layer_temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644),
                        "create", layer_temp.native()));
  gzip(tar.get(), layer.get(), layer_temp.native());
  tar.reset();
  json layer_desc =
      put_blob_fd(layer.get(), "application/vnd.oci.image.layer.v1.tar+gzip", layer_temp.native());
  fs::rename(layer_temp,
             temp / "blobs" / "sha256" / layer_desc["digest"].get<std::string>().substr(7));

  json config = {{"architecture", go_arch()},
                 {"os", "linux"},
                 {"config", oci_image_config(def, warnings)},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", {diff_id}}}}};
  json history = {{"created_by", "elements-pack export"}};
  if (epoch) config["created"] = history["created"] = rfc3339(*epoch);
  config["history"] = json::array({history});
  const json config_desc =
      put_blob(temp, config.dump(), "application/vnd.oci.image.config.v1+json");

  const json manifest = {{"schemaVersion", 2},
                         {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                         {"config", config_desc},
                         {"layers", {layer_desc}}};
  json manifest_desc =
      put_blob(temp, manifest.dump(), "application/vnd.oci.image.manifest.v1+json");
  manifest_desc["annotations"] = {{"org.opencontainers.image.ref.name", target.tag}};
  const json index = {{"schemaVersion", 2},
                      {"mediaType", "application/vnd.oci.image.index.v1+json"},
                      {"manifests", {manifest_desc}}};
  write_text(temp / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  write_text(temp / "index.json", index.dump());

  if (exists) fs::remove(dir);
  fs::rename(temp, dir);
  remove.dismiss();
  return {manifest_desc["digest"].get<std::string>(), layer_desc["size"].get<std::uint64_t>()};
}

}  // namespace elements::builder
