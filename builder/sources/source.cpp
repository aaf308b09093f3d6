#include "builder/sources/source.hpp"

#include <sys/stat.h>

#include "elements/error.hpp"

namespace elements::builder {
namespace {

struct kind_name {
  std::string_view prefix;
  source_kind kind;
};

constexpr kind_name kinds[] = {
    {"dir:", source_kind::dir},
    {"tar:", source_kind::tar},
    {"oci:", source_kind::oci},
    {"docker-archive:", source_kind::docker_archive},
};

bool is_a(const std::filesystem::path& p, mode_t type) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && (st.st_mode & S_IFMT) == type;
}

bool is_oci_layout(const std::filesystem::path& p) {
  return is_a(p, S_IFDIR) && is_a(p / "index.json", S_IFREG);
}

// PATH may itself hold ":", so the whole text is tried first, then each
// prefix before a ":" from the left; what follows the first that names an
// image is REF ("img:sha256:..." is PATH "img" and REF "sha256:...").
template <typename Exists>
bool split_reference(source_ref& ref, std::string_view rest, const std::filesystem::path& base,
                     Exists exists) {
  if (exists(ref.path)) return true;
  for (std::size_t colon = rest.find(':'); colon != std::string_view::npos;
       colon = rest.find(':', colon + 1)) {
    if (colon == 0 || colon + 1 == rest.size()) continue;
    const auto path = base / std::filesystem::path(rest.substr(0, colon));
    if (!exists(path)) continue;
    ref.path = path;
    ref.reference = std::string(rest.substr(colon + 1));
    return true;
  }
  return false;
}

class scratch_source final : public source {
 public:
  node_ptr read_tree(const made_attrs& made) override { return make_dir(0755, made); }
};

}  // namespace

source_ref parse_source_ref(std::string_view text, const std::filesystem::path& base,
                            std::string_view where) {
  const std::string prefix = std::string(where) + ": ";
  if (text == "scratch") return {source_kind::scratch, std::string(text), {}};
  for (const auto& [name, kind] : kinds) {
    if (!text.starts_with(name)) continue;
    std::string_view rest = text.substr(name.size());
    if (rest.empty())
      throw usage_error(prefix + "\"" + std::string(text) + "\" names no path (write " +
                        std::string(name) + "PATH)");
    source_ref ref{kind, std::string(text), base / std::filesystem::path(rest)};
    switch (kind) {
      case source_kind::dir:
        if (!is_a(ref.path, S_IFDIR))
          throw usage_error(prefix + ref.path.native() +
                            " is not a folder (dir: needs the folder holding the rootfs)");
        return ref;
      case source_kind::tar:
        if (!is_a(ref.path, S_IFREG))
          throw usage_error(prefix + ref.path.native() +
                            " is not a file (tar: needs a tar archive, plain or compressed with "
                            "gzip, zstd or xz)");
        return ref;
      case source_kind::oci:
        if (split_reference(ref, rest, base, is_oci_layout)) return ref;
        throw usage_error(prefix + "no OCI image layout at " + ref.path.native() +
                          " (oci: needs the folder holding index.json, then :REF to pick a "
                          "tag or sha256:DIGEST)");
      case source_kind::docker_archive:
        if (split_reference(ref, rest, base,
                            [](const std::filesystem::path& p) { return is_a(p, S_IFREG); }))
          return ref;
        throw usage_error(prefix + ref.path.native() +
                          " is not a file (docker-archive: needs what \"docker save\" wrote, "
                          "then :REF to pick one of its tags)");
      case source_kind::scratch:
        break;
    }
  }
  throw usage_error(prefix + "unknown source \"" + std::string(text) +
                    "\" (expected dir:PATH, tar:PATH, oci:PATH[:REF], docker-archive:PATH[:REF] "
                    "or scratch)");
}

std::unique_ptr<source> make_scratch_source() {
  return std::make_unique<scratch_source>();
}

std::unique_ptr<source> open_source(const source_ref& ref, const made_attrs& made) {
  std::unique_ptr<source> opened = [&] {
    switch (ref.kind) {
      case source_kind::scratch:
        return make_scratch_source();
      case source_kind::dir:
        return make_dir_source(ref.path);
      case source_kind::tar:
        return make_tar_source(ref);
      case source_kind::oci:
        return make_oci_source(ref);
      case source_kind::docker_archive:
        return make_docker_source(ref);
    }
    throw usage_error(ref.text + ": unknown source kind");
  }();
  opened->ref_ = ref;
  opened->made_ = made;
  return opened;
}

std::optional<image_config> read_image_config(const source_ref& ref) {
  return open_source(ref)->config();
}

}  // namespace elements::builder
