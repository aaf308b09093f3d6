#include "source.hpp"

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

class scratch_source final : public source {
 public:
  explicit scratch_source(const made_attrs& made) : made_(made) {}
  node_ptr read_tree() override { return make_dir(0755, made_); }

 private:
  made_attrs made_;
};

}  // namespace

source_ref parse_source_ref(std::string_view text, const std::filesystem::path& base,
                            std::string_view where) {
  const std::string prefix = std::string(where) + ": ";
  if (text == "scratch") return {source_kind::scratch, std::string(text), {}};
  for (const auto& [name, kind] : kinds) {
    if (!text.starts_with(name)) continue;
    std::string_view path = text.substr(name.size());
    if (path.empty())
      throw usage_error(prefix + "\"" + std::string(text) + "\" names no path (write " +
                        std::string(name) + "PATH)");
    if (kind != source_kind::dir)
      throw usage_error(prefix + "\"" + std::string(name) +
                        "\" sources are not supported by this build yet (unpack the image "
                        "into a folder and use dir:PATH)");
    source_ref ref{kind, std::string(text), base / std::filesystem::path(path)};
    struct stat st {};
    if (::stat(ref.path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      throw usage_error(prefix + ref.path.native() + " is not a folder (dir: needs the folder " +
                        "holding the rootfs)");
    return ref;
  }
  throw usage_error(prefix + "unknown source \"" + std::string(text) +
                    "\" (expected dir:PATH, tar:PATH, oci:PATH[:REF], docker-archive:PATH or "
                    "scratch)");
}

std::unique_ptr<source> make_scratch_source(const made_attrs& made) {
  return std::make_unique<scratch_source>(made);
}

std::unique_ptr<source> open_source(const source_ref& ref, const made_attrs& made) {
  switch (ref.kind) {
    case source_kind::scratch:
      return make_scratch_source(made);
    case source_kind::dir:
      return make_dir_source(ref.path);
    default:
      break;
  }
  throw usage_error(ref.text + ": this source kind is not supported by this build yet");
}

}  // namespace elements::builder
