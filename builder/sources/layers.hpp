// Image layers (DESIGN.md section 4): tar archives, plain or compressed,
// applied in order to an in-memory tree. Nothing is written to disk but the
// file contents, so a rootless build keeps every owner, mode, device node and
// xattr the layers carry.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "builder/sources/source.hpp"
#include "builder/squashfs/spool.hpp"
#include "builder/tree.hpp"
#include "elements/unique_fd.hpp"

namespace elements::builder {

struct layer_input {
  unique_fd fd;  // the archive, read from offset 0
  // For messages: "layer sha256:<hex>" for an image layer, the path of a tarball.
  std::string name;
  // The sha256 and size of the archive's bytes as stored, checked before
  // anything of the layer reaches the tree.
  std::optional<std::string> digest;
  std::optional<std::uint64_t> size;
  // The sha256 of the tar the archive decompresses to, as the image config's
  // rootfs.diff_ids lists it; checked in the same pass.
  std::optional<std::string> diff_id;
  // OCI whiteouts (.wh.NAME, .wh..wh..opq). A rootfs tarball is not a layer:
  // there such names are plain files.
  bool whiteouts = true;
};

// A rootfs built from layers, bottom first.
class layer_stack {
 public:
  explicit layer_stack(const made_attrs& made, layer_observer observer = {});
  // Layers on top of an existing tree (a build step's changes).
  layer_stack(node_ptr root, const made_attrs& made);
  // How many layers apply() will get, for progress; 0 when not known.
  void expect(std::size_t count) noexcept { expected_ = count; }

  // Reads `layer` whole, verifies its digest and diff_id, then applies it:
  // whiteouts first (they only hide what lower layers made), then its entries
  // in order.
  // Throws elements::error naming the layer and the entry for a damaged or
  // mismatching archive and for an entry that would land outside the root
  // ("..", an absolute name, a path through a symlink).
  void apply(const layer_input& layer);

  const node_ptr& root() const noexcept { return root_; }
  // Things left out, such as xattrs squashfs cannot hold.
  const std::vector<std::string>& warnings() const noexcept { return warnings_; }

 private:
  node_ptr root_;
  made_attrs made_;
  content_spool spool_;
  std::vector<std::string> warnings_;
  layer_observer observer_;
  std::size_t applied_ = 0;
  std::size_t expected_ = 0;
};

// The sha256 of what a layer decompresses to: the tar itself, as an image
// config's rootfs.diff_ids name it.
std::string uncompressed_sha256(int fd, const std::string& name);

// A source whose tree is a stack of layers (a rootfs tarball, an image):
// `apply` puts them on the stack in order; the warnings of the last read stay.
class layered_source : public source {
 public:
  node_ptr read_tree(const made_attrs& made) final {
    layer_stack stack(made, layer_observer_);
    apply(stack);
    warnings_ = stack.warnings();
    return stack.root();
  }
  std::vector<std::string> warnings() const final { return warnings_; }

 protected:
  virtual void apply(layer_stack& stack) = 0;

 private:
  std::vector<std::string> warnings_;
};

}  // namespace elements::builder
