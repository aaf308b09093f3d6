// The tar: source: a rootfs in one tar archive, plain or compressed.
#include <fcntl.h>

#include "elements/error.hpp"
#include "layers.hpp"
#include "source.hpp"

namespace elements::builder {
namespace {

class tar_source final : public source {
 public:
  tar_source(source_ref ref, const made_attrs& made) : ref_(std::move(ref)), made_(made) {}

  node_ptr read_tree() override {
    layer_input tarball;
    tarball.fd.reset(::open(ref_.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!tarball.fd) throw_errno("open", ref_.path.native());
    tarball.name = ref_.text;
    // A rootfs tarball is not an image layer: ".wh." names in it are files.
    tarball.whiteouts = false;
    layer_stack stack(made_);
    stack.apply(tarball);
    warnings_ = stack.warnings();
    return stack.root();
  }

  std::vector<std::string> warnings() const override { return warnings_; }

 private:
  source_ref ref_;
  made_attrs made_;
  std::vector<std::string> warnings_;
};

}  // namespace

std::unique_ptr<source> make_tar_source(const source_ref& ref, const made_attrs& made) {
  return std::make_unique<tar_source>(ref, made);
}

}  // namespace elements::builder
