// The oci: source: an OCI image layout (index.json and blobs/sha256/), as
// skopeo, umoci, buildah and "docker buildx --output type=oci" write it.
// Every blob read is checked against the digest and size that name it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "builder/digest.hpp"
#include "builder/sources/layers.hpp"
#include "builder/sources/source.hpp"
#include "elements/error.hpp"
#include "elements/unique_fd.hpp"

namespace elements::builder {
namespace {

using json = nlohmann::json;

// Registries refuse manifests over 4 MiB; configs are smaller still.
constexpr std::uint64_t max_json_blob = 16 << 20;
// An index may name an index; real images nest once at most.
constexpr int max_nesting = 4;

constexpr std::string_view ref_name_key = "org.opencontainers.image.ref.name";
constexpr std::string_view manifest_types[] = {
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json"};
constexpr std::string_view config_types[] = {"application/vnd.oci.image.config.v1+json",
                                             "application/vnd.docker.container.image.v1+json"};

struct descriptor {
  std::string media_type;
  std::string digest;
  std::optional<std::uint64_t> size;
  std::string ref;                      // the org.opencontainers.image.ref.name annotation
  std::optional<std::string> platform;  // "os/architecture[/variant]"
  std::string os, architecture, variant;
  std::optional<std::string> diff_id;  // a layer's, from the config's rootfs.diff_ids
};

struct image {
  std::vector<descriptor> layers;
  json config;
  std::string config_digest;
};

bool one_of(std::string_view s, std::span<const std::string_view> list) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

bool is_tar_layer(std::string_view media_type) {
  return (media_type.starts_with("application/vnd.oci.image.layer.") ||
          media_type.starts_with("application/vnd.docker.image.rootfs.")) &&
         media_type.find("encrypted") == std::string_view::npos;
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : ", ") + w;
  return out;
}

class layout {
 public:
  explicit layout(const source_ref& ref) : ref_(ref) {}

  image resolve() {
    try {
      return resolve_checked();
    } catch (const json::exception& e) {
      // A field of another type than the image spec gives it.
      damaged(std::string("malformed image metadata: ") + e.what());
    }
  }

  // Files opened so far: index.json and blobs.
  std::size_t opens() const noexcept { return opens_; }

  unique_fd open_blob(const descriptor& d, const std::string& what) const {
    const auto path = blob_path(d, what);
    ++opens_;
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd && errno == ENOENT)
      damaged(what + " " + d.digest + " is missing from " + path.parent_path().native() +
              " (the layout is incomplete: copy the image again)");
    if (!fd) throw_errno("open", path.native());
    return fd;
  }

 private:
  image resolve_checked() {
    descriptor d = pick_from_index();
    json doc = read_json(d, "manifest");
    for (int depth = 0; doc.contains("manifests"); ++depth) {
      if (depth == max_nesting) damaged("index " + d.digest + " nests indexes too deeply");
      d = pick_platform(descriptors(doc, "index " + d.digest), "index " + d.digest);
      doc = read_json(d, "manifest");
    }
    const std::string where = "manifest " + d.digest;
    const std::string type = doc.value("mediaType", d.media_type);
    if (!type.empty() && !one_of(type, manifest_types))
      throw usage_error(ref_.text + ": " + where + " has media type " + type +
                        ", which is not an image manifest this build reads");
    if (!doc.contains("config") || !doc.contains("layers") || !doc["layers"].is_array())
      damaged(where + " lacks its config or layers");

    image out;
    const descriptor config = parse_descriptor(doc["config"], where + ": config");
    if (!config.media_type.empty() && !one_of(config.media_type, config_types))
      throw usage_error(ref_.text + ": " + where + " is not a container image (its config is " +
                        config.media_type + ")");
    out.config = read_json(config, "config");
    out.config_digest = config.digest;
    for (std::size_t i = 0; i < doc["layers"].size(); ++i) {
      descriptor layer = parse_descriptor(doc["layers"][i], where + ": layer " + std::to_string(i));
      if (!layer.media_type.empty() && !is_tar_layer(layer.media_type))
        throw usage_error(ref_.text + ": layer " + layer.digest + " has media type " +
                          layer.media_type + ", which is not a tar layer this build reads");
      out.layers.push_back(std::move(layer));
    }
    const json* diff_ids = out.config.contains("rootfs") && out.config["rootfs"].is_object() &&
                                   out.config["rootfs"].contains("diff_ids")
                               ? &out.config["rootfs"]["diff_ids"]
                               : nullptr;
    if (diff_ids && (!diff_ids->is_array() || diff_ids->size() != out.layers.size()))
      damaged("config " + config.digest + " lists another number of layers than " + where);
    for (std::size_t i = 0; diff_ids && i < out.layers.size(); ++i) {
      const json& id = (*diff_ids)[i];
      if (!id.is_string() || !is_sha256_digest(id.get<std::string>()))
        damaged("config " + config.digest + ": rootfs.diff_ids/" + std::to_string(i) +
                " is not a sha256 digest (sha256: and 64 hex digits)");
      out.layers[i].diff_id = id.get<std::string>();
    }
    return out;
  }

  [[noreturn]] void damaged(const std::string& what) const {
    throw error(ref_.text + ": " + what, exit_build_failed);
  }

  std::filesystem::path blob_path(const descriptor& d, const std::string& what) const {
    // The digest becomes a file name: anything but sha256 and 64 hex digits
    // could name some other file.
    if (!is_sha256_digest(d.digest))
      damaged(what + " names the digest \"" + d.digest +
              "\"; only sha256 digests (sha256: and 64 hex digits) are read");
    return ref_.path / "blobs" / "sha256" / d.digest.substr(std::strlen("sha256:"));
  }

  std::string read_small_file(int fd, const std::string& what) const {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw_errno("stat", what);
    if (static_cast<std::uint64_t>(st.st_size) > max_json_blob)
      damaged(what + " is " + std::to_string(st.st_size) + " bytes, too large for JSON metadata");
    std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno("read", what);
      if (n == 0) break;
      done += static_cast<std::size_t>(n);
    }
    bytes.resize(done);
    return bytes;
  }

  json parse(const std::string& bytes, const std::string& what) const {
    try {
      return json::parse(bytes);
    } catch (const json::exception& e) {
      damaged(what + " is not valid JSON: " + e.what());
    }
  }

  json read_json(const descriptor& d, const std::string& kind) const {
    const std::string what = kind + " " + d.digest;
    unique_fd fd = open_blob(d, kind);
    const std::string bytes = read_small_file(fd.get(), what);
    sha256_hasher h;
    h.update({reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()});
    if (const std::string got = h.digest(); got != d.digest)
      damaged(what + ": the blob's bytes hash to " + got +
              ", not to the digest that names them: the image is damaged or was altered (fetch "
              "or save it again)");
    if (d.size && *d.size != bytes.size())
      damaged(what + ": the blob is " + std::to_string(bytes.size()) +
              " bytes, its descriptor says " + std::to_string(*d.size));
    return parse(bytes, what);
  }

  descriptor parse_descriptor(const json& j, const std::string& where) const {
    if (!j.is_object() || !j.contains("digest") || !j["digest"].is_string())
      damaged(where + ": a descriptor without a digest");
    descriptor d;
    d.digest = j["digest"].get<std::string>();
    if (j.contains("mediaType") && j["mediaType"].is_string())
      d.media_type = j["mediaType"].get<std::string>();
    if (j.contains("size")) {
      if (!j["size"].is_number_unsigned()) damaged(where + ": size must be a positive integer");
      d.size = j["size"].get<std::uint64_t>();
    }
    if (j.contains("annotations") && j["annotations"].is_object()) {
      const auto& a = j["annotations"];
      if (auto it = a.find(ref_name_key); it != a.end() && it->is_string())
        d.ref = it->get<std::string>();
    }
    if (j.contains("platform") && j["platform"].is_object()) {
      const auto& p = j["platform"];
      d.os = p.value("os", "");
      d.architecture = p.value("architecture", "");
      d.variant = p.value("variant", "");
      d.platform = d.os + "/" + d.architecture + (d.variant.empty() ? "" : "/" + d.variant);
    }
    return d;
  }

  std::vector<descriptor> descriptors(const json& index, const std::string& where) const {
    if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array())
      damaged(where + " has no \"manifests\" array");
    std::vector<descriptor> out;
    for (const auto& m : index["manifests"]) out.push_back(parse_descriptor(m, where));
    return out;
  }

  // An index of one image per platform: the one this machine runs.
  descriptor pick_platform(const std::vector<descriptor>& list, const std::string& where) const {
    if (list.size() == 1 && !list[0].platform) return list[0];
    const std::string arch = host_architecture();
    std::vector<std::string> offered;
    for (const auto& d : list) {
      if (!d.platform) continue;
      // arm64 images call their only variant "v8", or nothing.
      if (d.os == "linux" && d.architecture == arch &&
          (arch != "arm64" || d.variant.empty() || d.variant == "v8"))
        return d;
      if (d.os != "unknown") offered.push_back(*d.platform);  // attestations say unknown/unknown
    }
    throw usage_error(ref_.text + ": " + where + " has no image for linux/" + arch +
                      (offered.empty() ? "" : " (it has " + join(offered) + ")") +
                      "; name one by digest with oci:PATH:sha256:DIGEST");
  }

  // The digest names a manifest anywhere below index.json.
  std::optional<descriptor> find_digest(const std::vector<descriptor>& list, int depth) const {
    for (const auto& d : list)
      if (d.digest == ref_.reference) return d;
    if (depth == max_nesting) return std::nullopt;
    for (const auto& d : list) {
      if (d.media_type.find("index") == std::string::npos &&
          d.media_type.find("manifest.list") == std::string::npos)
        continue;
      if (auto found =
              find_digest(descriptors(read_json(d, "index"), "index " + d.digest), depth + 1))
        return found;
    }
    return std::nullopt;
  }

  descriptor pick_from_index() const {
    const auto index_path = ref_.path / "index.json";
    ++opens_;
    unique_fd fd(::open(index_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open", index_path.native());
    const auto all =
        descriptors(parse(read_small_file(fd.get(), "index.json"), "index.json"), "index.json");
    std::vector<std::string> refs;
    for (const auto& d : all)
      if (!d.ref.empty()) refs.push_back(d.ref);
    const std::string known = refs.empty() ? "" : " (it has " + join(refs) + ")";

    if (ref_.reference.empty()) {
      if (all.size() == 1) return all[0];
      if (all.empty()) damaged("index.json lists no image");
      if (std::all_of(all.begin(), all.end(), [](const descriptor& d) { return !!d.platform; }))
        return pick_platform(all, "index.json");
      throw usage_error(ref_.text + ": the layout holds " + std::to_string(all.size()) +
                        " images; name one with oci:PATH:REF" + known);
    }
    if (is_sha256_digest(ref_.reference)) {
      if (auto found = find_digest(all, 0)) return *found;
      throw usage_error(ref_.text + ": no manifest in the layout has the digest " + ref_.reference);
    }
    std::vector<descriptor> tagged;
    std::copy_if(all.begin(), all.end(), std::back_inserter(tagged),
                 [&](const descriptor& d) { return d.ref == ref_.reference; });
    if (tagged.empty())
      throw usage_error(ref_.text + ": no image in the layout is named \"" + ref_.reference + "\"" +
                        known);
    return tagged.size() == 1 ? tagged[0] : pick_platform(tagged, "index.json");
  }

  source_ref ref_;
  mutable std::size_t opens_ = 0;
};

// The image is resolved (index, manifest, config) on first use and kept, so
// the config that fills "run" and the layers of the tree are one read.
class oci_source final : public layered_source {
 public:
  explicit oci_source(const source_ref& ref) : layout_(ref), text_(ref.text) {}

  std::optional<image_config> config() override {
    const image& img = resolved();
    return parse_image_config(img.config, text_ + ": config " + img.config_digest);
  }
  source_reads reads() const override { return {layout_.opens(), 0}; }

 private:
  const image& resolved() {
    if (!image_) image_ = layout_.resolve();
    return *image_;
  }

  void apply(layer_stack& stack) override {
    const image& img = resolved();
    stack.expect(img.layers.size());
    for (const auto& d : img.layers) {
      layer_input layer;
      layer.fd = layout_.open_blob(d, "layer");
      layer.name = text_ + ": layer " + d.digest;
      layer.digest = d.digest;
      layer.size = d.size;
      layer.diff_id = d.diff_id;
      stack.apply(layer);
    }
  }

  layout layout_;
  std::string text_;
  std::optional<image> image_;
};

}  // namespace

std::unique_ptr<source> make_oci_source(const source_ref& ref) {
  return std::make_unique<oci_source>(ref);
}

}  // namespace elements::builder
