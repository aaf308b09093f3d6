// Where a rootfs comes from (the definition's "from" or --from): the kinds
// the builder knows, and the interface each kind implements.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/definition/image_config.hpp"
#include "builder/tree.hpp"

namespace elements::builder {

enum class source_kind { scratch, dir, tar, oci, docker_archive };

struct source_ref {
  source_kind kind = source_kind::scratch;
  std::string text;            // as written, for messages and --check
  std::filesystem::path path;  // resolved; empty for scratch
  std::string reference;       // oci: and docker-archive: REF; empty for none
};

// Parses "dir:PATH", "tar:PATH", "oci:PATH[:REF]", "docker-archive:PATH[:REF]"
// or "scratch", resolving PATH against `base`. PATH may hold ":" itself: REF
// starts after the first ":" where PATH names what the kind reads. Throws
// usage_error, prefixed with `where` ("element.json: /from", "--from"), for
// an unknown kind or a PATH that is not what the kind reads.
source_ref parse_source_ref(std::string_view text, const std::filesystem::path& base,
                            std::string_view where);

// Told, for progress, after each layer of an image is read and applied:
// its name, its size as stored, its number (from 1) and how many there are.
using layer_observer = std::function<void(const std::string& name, std::uint64_t bytes,
                                          std::size_t number, std::size_t count)>;

// How often a source went to its input, so that a test can hold it to
// reading each thing once: files opened, and passes through an archive
// from its start.
struct source_reads {
  std::size_t opens = 0;
  std::size_t passes = 0;
};

// A rootfs provider, opened once per build. Image formats (tar, OCI, docker
// archives) plug in here: each turns its input into one tree whose root is
// the container's "/", and an image also serves its config from what it
// read for the tree, so its manifest and config are read once.
class source {
 public:
  virtual ~source() = default;
  // Entries the source makes itself (a scratch root, folders a layer
  // implies) carry `made`.
  virtual node_ptr read_tree(const made_attrs& made) = 0;
  // With the `made` open_source was given.
  node_ptr read_tree() { return read_tree(made_); }
  // The image's own run settings, for oci: and docker-archive: sources;
  // none for the others. Only the manifest and the config are read, verified.
  virtual std::optional<image_config> config() { return std::nullopt; }
  // What read_tree left out or could not carry over, for the user to see.
  virtual std::vector<std::string> warnings() const { return {}; }
  virtual source_reads reads() const { return {}; }
  // Sources made of layers tell `f` about each one as read_tree reads it.
  void observe_layers(layer_observer f) { layer_observer_ = std::move(f); }
  const source_ref& ref() const noexcept { return ref_; }

 protected:
  layer_observer layer_observer_;

 private:
  friend std::unique_ptr<source> open_source(const source_ref& ref, const made_attrs& made);
  source_ref ref_;
  made_attrs made_;
};

std::unique_ptr<source> open_source(const source_ref& ref, const made_attrs& made = {});

// The image's own run settings (source::config of the opened `ref`).
std::optional<image_config> read_image_config(const source_ref& ref);

// The kinds, one per file.
std::unique_ptr<source> make_scratch_source();
std::unique_ptr<source> make_dir_source(std::filesystem::path path);
std::unique_ptr<source> make_tar_source(const source_ref& ref);
std::unique_ptr<source> make_oci_source(const source_ref& ref);
std::unique_ptr<source> make_docker_source(const source_ref& ref);

}  // namespace elements::builder
