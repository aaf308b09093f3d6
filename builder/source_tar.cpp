// The tar: source: a rootfs in one tar archive, plain or compressed.
#include <fcntl.h>

#include "elements/error.hpp"
#include "layers.hpp"
#include "source.hpp"

namespace elements::builder {

std::unique_ptr<source> make_tar_source(const source_ref& ref, const made_attrs& made) {
  return std::make_unique<layered_source>(made, [ref](layer_stack& stack) {
    layer_input tarball;
    tarball.fd.reset(::open(ref.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!tarball.fd) throw_errno("open", ref.path.native());
    tarball.name = ref.text;
    // A rootfs tarball is not an image layer: ".wh." names in it are files.
    tarball.whiteouts = false;
    stack.expect(1);
    stack.apply(tarball);
  });
}

}  // namespace elements::builder
