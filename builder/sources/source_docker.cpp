// The docker-archive: source: what "docker save" (or podman, or skopeo's
// docker-archive:) writes: a tar holding manifest.json, each image's config
// and its layers as tar files. The config is named by its digest and lists
// the digest of every layer's tar (rootfs.diff_ids); both are checked.
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <map>
#include <set>

#include "builder/digest.hpp"
#include "builder/sources/archive_reader.hpp"
#include "builder/sources/layers.hpp"
#include "builder/sources/source.hpp"
#include "elements/error.hpp"
#include "elements/unique_fd.hpp"

namespace elements::builder {
namespace {

using json = nlohmann::json;

constexpr std::size_t max_json_member = 16 << 20;
// Members the first pass keeps in memory: an image's config is a few KiB,
// its history included, and so are the layers that only set a file or two.
constexpr std::size_t max_kept_member = 256 << 10;
constexpr std::size_t max_kept = 16 << 20;
constexpr int max_link_hops = 16;

// Member names without "./" or "/" in front, ".." resolved; empty when ".."
// leaves the archive.
std::string member_name(std::string_view name) {
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  while (i <= name.size()) {
    std::size_t j = std::min(name.find('/', i), name.size());
    std::string_view part = name.substr(i, j - i);
    if (part == "..") {
      if (parts.empty()) return {};
      parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out;
  for (auto p : parts) out += (out.empty() ? "" : "/") + std::string(p);
  return out;
}

std::string folder_of(const std::string& member) {
  const auto slash = member.rfind('/');
  return slash == std::string::npos ? "" : member.substr(0, slash + 1);
}

// "HEX.json" (docker before 25, podman, skopeo) or "blobs/sha256/HEX"
// (docker 25 and later) hold the digest of the file's bytes.
std::optional<std::string> digest_in_name(const std::string& member) {
  std::string hex;
  if (member.starts_with("blobs/sha256/")) {
    hex = member.substr(std::string_view("blobs/sha256/").size());
  } else {
    hex = member.substr(member.rfind('/') + 1);
    if (!hex.ends_with(".json")) return std::nullopt;
    hex.resize(hex.size() - std::string_view(".json").size());
  }
  if (!is_sha256_digest("sha256:" + hex)) return std::nullopt;
  return "sha256:" + hex;
}

struct manifest_entry {
  std::string config;
  std::vector<std::string> tags;
  std::vector<std::string> layers;
};

struct blob {
  unique_fd fd;
  std::string digest;  // of the bytes as stored
};

// The archive is opened once. A first pass reads its manifest and links
// and keeps the small members it passes, among them the config; a second
// copies the layers out, when any is larger.
class docker_archive {
 public:
  explicit docker_archive(const source_ref& ref) : ref_(ref) {}

  // The image REF names, its config checked against its name.
  const manifest_entry& pick() {
    if (entry_) return *entry_;
    scan();
    manifest_entry entry = select();
    config_member_ = follow(entry.config);
    if (auto kept = kept_.find(config_member_); kept != kept_.end()) {
      config_bytes_ = std::move(kept->second);
      have_config_ = true;
      kept_.erase(kept);
    }
    entry_ = std::move(entry);
    return *entry_;
  }

  // The config and the layers of `entry` in one pass.
  void read_members(const manifest_entry& entry) {
    std::set<std::string> wanted{config_member_};
    for (const auto& l : entry.layers) wanted.insert(follow(l));
    collect(wanted);
  }

  source_reads reads() const noexcept { return reads_; }

  json config() {
    collect({config_member_});
    const auto expected = digest_in_name(config_member_);
    if (!expected)
      damaged("the config " + config_member_ +
              " is not named by its digest, so it cannot be "
              "checked");
    sha256_hasher h;
    h.update({reinterpret_cast<const unsigned char*>(config_bytes_.data()), config_bytes_.size()});
    if (const auto got = h.digest(); got != *expected)
      damaged("the config " + config_member_ + " hashes to " + got +
              ": the archive is damaged or was altered (save the image again)");
    try {
      return json::parse(config_bytes_);
    } catch (const json::exception& e) {
      damaged("the config " + config_member_ + " is not valid JSON: " + e.what());
    }
  }

  // The layers' tars, each checked against the config's diff_ids.
  std::vector<layer_input> layers(const manifest_entry& entry, const json& config) {
    std::vector<std::string> members;
    for (const auto& l : entry.layers) members.push_back(follow(l));
    std::set<std::string> wanted(members.begin(), members.end());
    wanted.insert(config_member_);
    collect(wanted);
    kept_.clear();

    const json* diff_ids = nullptr;
    if (config.contains("rootfs") && config["rootfs"].is_object())
      if (auto it = config["rootfs"].find("diff_ids"); it != config["rootfs"].end())
        diff_ids = &*it;
    if (!diff_ids || !diff_ids->is_array() || diff_ids->size() != members.size())
      damaged("the config " + config_member_ + " does not list one digest per layer");

    std::vector<layer_input> out;
    for (std::size_t i = 0; i < members.size(); ++i) {
      const auto found = blobs_.find(members[i]);
      if (found == blobs_.end()) damaged("layer " + members[i] + " is the image's config");
      const blob& b = found->second;
      const json& id = (*diff_ids)[i];
      if (!id.is_string() || !is_sha256_digest(id.get<std::string>()))
        damaged("the config " + config_member_ + " lists a layer digest that is not sha256");
      const std::string diff_id = id.get<std::string>();
      if (auto named = digest_in_name(members[i]); named && *named != b.digest)
        damaged("layer " + members[i] + " hashes to " + b.digest +
                ": the archive is damaged or was altered (save the image again)");
      // docker save stores layers as plain tars, whose digest is the diff_id;
      // a compressed one is checked by what it decompresses to.
      if (b.digest != diff_id && uncompressed_sha256(b.fd.get(), members[i]) != diff_id)
        damaged("layer " + members[i] + " is not the layer " + diff_id +
                " its config names: the archive is damaged or was altered (save the image "
                "again)");
      layer_input layer;
      layer.fd.reset(::fcntl(b.fd.get(), F_DUPFD_CLOEXEC, 0));
      if (!layer.fd) throw_errno("duplicate the descriptor of", members[i]);
      layer.name = ref_.text + ": layer " + diff_id;
      out.push_back(std::move(layer));
    }
    return out;
  }

 private:
  [[noreturn]] void damaged(const std::string& what) const {
    throw error(ref_.text + ": " + what, exit_build_failed);
  }

  std::string read_json_member(archive_reader& r, archive_entry* e, const std::string& name) {
    if (archive_entry_size(e) > static_cast<la_int64_t>(max_json_member))
      damaged(name + " is too large for JSON metadata");
    std::string bytes;
    r.read_data([&](std::span<const unsigned char> b) { bytes.append(b.begin(), b.end()); });
    return bytes;
  }

  // First pass: manifest.json, and the links "docker save" writes for
  // layers that several images share.
  void scan() {
    archive_reader r(archive_fd(), ref_.text, archive_reader::format::tar, false);
    ++reads_.passes;
    std::optional<std::string> manifest;
    while (archive_entry* e = r.next()) {
      const char* raw = archive_entry_pathname(e);
      const std::string name = member_name(raw ? raw : "");
      if (const char* hard = archive_entry_hardlink(e))
        links_[name] = member_name(hard);
      else if (archive_entry_filetype(e) == AE_IFLNK && archive_entry_symlink(e))
        links_[name] = member_name(folder_of(name) + archive_entry_symlink(e));
      else if (archive_entry_filetype(e) != AE_IFREG)
        continue;
      else if (name == "manifest.json")
        manifest = read_json_member(r, e, name);
      else if (worth_keeping(name, archive_entry_size(e)))
        kept_bytes_ += kept_.emplace(name, read_json_member(r, e, name)).first->second.size();
    }
    if (!manifest)
      throw usage_error(ref_.text + ": no manifest.json in " + ref_.path.native() +
                        " (docker-archive: reads what \"docker save\" writes)");
    try {
      manifest_ = json::parse(*manifest);
    } catch (const json::exception& e) {
      damaged(std::string("manifest.json is not valid JSON: ") + e.what());
    }
  }

  // A member the second pass then need not read: the config, a small
  // layer. The first of a name counts, as collect takes the first.
  bool worth_keeping(const std::string& name, la_int64_t size) const {
    return size >= 0 && static_cast<std::size_t>(size) <= max_kept_member &&
           kept_bytes_ + static_cast<std::size_t>(size) <= max_kept && !kept_.contains(name);
  }

  manifest_entry select() const {
    if (!manifest_.is_array() || manifest_.empty()) damaged("manifest.json lists no image");
    std::vector<manifest_entry> entries;
    std::vector<std::string> all_tags;
    for (const auto& m : manifest_) {
      manifest_entry e;
      if (!m.is_object() || !m.contains("Config") || !m["Config"].is_string() ||
          !m.contains("Layers") || !m["Layers"].is_array())
        damaged("manifest.json has an entry without Config or Layers");
      e.config = member_name(m["Config"].get<std::string>());
      for (const auto& l : m["Layers"]) {
        if (!l.is_string()) damaged("manifest.json has a layer that is not a name");
        e.layers.push_back(member_name(l.get<std::string>()));
      }
      if (m.contains("RepoTags") && m["RepoTags"].is_array())
        for (const auto& t : m["RepoTags"])
          if (t.is_string()) e.tags.push_back(t.get<std::string>());
      all_tags.insert(all_tags.end(), e.tags.begin(), e.tags.end());
      entries.push_back(std::move(e));
    }
    std::string known;
    for (const auto& t : all_tags) known += (known.empty() ? " (it has " : ", ") + t;
    if (!known.empty()) known += ")";

    if (ref_.reference.empty()) {
      if (entries.size() == 1) return entries[0];
      throw usage_error(ref_.text + ": the archive holds " + std::to_string(entries.size()) +
                        " images; name one with docker-archive:PATH:TAG" + known);
    }
    // "docker save busybox" records the tag as "busybox:latest".
    const std::string with_latest = ref_.reference + ":latest";
    const auto slash = ref_.reference.rfind('/');
    const bool has_tag =
        ref_.reference.find(':', slash == std::string::npos ? 0 : slash) != std::string::npos;
    for (const auto& e : entries)
      for (const auto& t : e.tags)
        if (t == ref_.reference || (!has_tag && t == with_latest)) return e;
    throw usage_error(ref_.text + ": no image in the archive is tagged \"" + ref_.reference + "\"" +
                      known);
  }

  std::string follow(std::string member) const {
    for (int hop = 0; hop < max_link_hops; ++hop) {
      auto it = links_.find(member);
      if (it == links_.end()) return member;
      member = it->second;
    }
    damaged(member + ": too many levels of links in the archive");
  }

  // Second pass: the config into memory, layers into temporary files;
  // what the first pass kept is taken from memory.
  void collect(const std::set<std::string>& wanted) {
    std::set<std::string> missing;
    for (const auto& w : wanted) {
      if (blobs_.contains(w) || (w == config_member_ && have_config_)) continue;
      if (auto kept = kept_.find(w); kept != kept_.end()) {
        const std::string& bytes = kept->second;
        store(w, [&](const auto& sink) {
          sink({reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()});
        });
        continue;
      }
      missing.insert(w);
    }
    if (missing.empty()) return;
    archive_reader r(archive_fd(), ref_.text, archive_reader::format::tar, false);
    ++reads_.passes;
    while (!missing.empty()) {
      archive_entry* e = r.next();
      if (!e) break;
      const char* raw = archive_entry_pathname(e);
      const std::string name = member_name(raw ? raw : "");
      if (archive_entry_filetype(e) != AE_IFREG || !missing.erase(name)) continue;
      if (name == config_member_) {
        config_bytes_ = read_json_member(r, e, name);
        have_config_ = true;
        continue;
      }
      store(name, [&](const auto& sink) { r.read_data(sink); });
    }
    if (!missing.empty())
      damaged("manifest.json names " + *missing.begin() + ", which the archive does not hold");
  }

  // A layer into a temporary file, hashed as `read` hands it over.
  template <typename Read>
  void store(const std::string& name, Read read) {
    blob b{temporary_file(), {}};
    room_guard room(temp_folder(), "temporary copy of " + name + " of " + ref_.text);
    sha256_hasher h;
    off_t at = 0;
    read([&](std::span<const unsigned char> bytes) {
      h.update(bytes);
      room.before_write(b.fd.get(), static_cast<std::uint64_t>(at), bytes.size());
      while (!bytes.empty()) {
        ssize_t n = ::pwrite(b.fd.get(), bytes.data(), bytes.size(), at);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("write a layer of " + ref_.text + " to a temporary file");
        bytes = bytes.subspan(static_cast<std::size_t>(n));
        at += n;
      }
    });
    b.digest = h.digest();
    blobs_.emplace(name, std::move(b));
  }

  int archive_fd() {
    if (!fd_) {
      ++reads_.opens;
      fd_.reset(::open(ref_.path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd_) throw_errno("open", ref_.path.native());
    }
    return fd_.get();
  }

  source_ref ref_;
  unique_fd fd_;
  source_reads reads_;
  std::optional<manifest_entry> entry_;
  std::map<std::string, std::string> kept_;  // by the first pass, until the layers are read
  std::size_t kept_bytes_ = 0;
  json manifest_;
  std::map<std::string, std::string> links_;
  std::string config_member_;
  std::string config_bytes_;
  bool have_config_ = false;
  std::map<std::string, blob> blobs_;
};

// The image's metadata and layers are read once and kept, so the config
// that fills "run" and the layers of the tree come from one reading.
class docker_source final : public layered_source {
 public:
  explicit docker_source(const source_ref& ref) : archive_(ref), text_(ref.text) {}

  std::optional<image_config> config() override {
    return parse_image_config(config_document(), text_ + ": config");
  }
  source_reads reads() const override { return archive_.reads(); }

 private:
  const json& config_document() {
    if (!config_) {
      archive_.pick();
      config_ = archive_.config();
    }
    return *config_;
  }

  void apply(layer_stack& stack) override {
    const manifest_entry& entry = archive_.pick();
    if (!config_) archive_.read_members(entry);
    const auto layers = archive_.layers(entry, config_document());
    stack.expect(layers.size());
    for (const auto& layer : layers) stack.apply(layer);
  }

  docker_archive archive_;
  std::string text_;
  std::optional<json> config_;
};

}  // namespace

std::unique_ptr<source> make_docker_source(const source_ref& ref) {
  return std::make_unique<docker_source>(ref);
}

}  // namespace elements::builder
