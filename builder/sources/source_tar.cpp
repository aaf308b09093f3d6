// The tar: source: a rootfs in one tar archive, plain or compressed.
#include <fcntl.h>

#include "builder/sources/layers.hpp"
#include "builder/sources/source.hpp"
#include "elements/error.hpp"

namespace elements::builder {

namespace {

class tar_source final : public layered_source {
 public:
  explicit tar_source(const source_ref& ref) : ref_(ref) {}

 private:
  void apply(layer_stack& stack) override {
    layer_input tarball;
    tarball.fd.reset(::open(ref_.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!tarball.fd) throw_errno("open", ref_.path.native());
    tarball.name = ref_.text;
    // A rootfs tarball is not an image layer: ".wh." names in it are files.
    tarball.whiteouts = false;
    stack.expect(1);
    stack.apply(tarball);
  }

  source_ref ref_;
};

}  // namespace

std::unique_ptr<source> make_tar_source(const source_ref& ref) {
  return std::make_unique<tar_source>(ref);
}

}  // namespace elements::builder
