// The payload locator (common/src/elf_extent.cpp) on arbitrary files: the
// runtime reads its own ELF header and section table to find the squashfs,
// and elements-pack reads those of any --runtime it is given.
//
// Properties: a refusal is an elements::error; an accepted file has its
// payload offset and every AppImage section inside the file.
#include <sys/stat.h>

#include <cstdint>

#include "elements/payload.hpp"
#include "fuzz_support.hpp"

using namespace elements;

namespace {

void check_inside(const std::optional<payload::section>& s, std::uint64_t size) {
  if (s)
    fuzz::require(s->offset <= size && s->size <= size - s->offset, "sections lie in the file");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const unique_fd fd = fuzz::memory_fd(data, size);
  payload::elf_extent ext;
  try {
    ext = payload::read_elf_extent(fd.get(), "fuzz.AppImage");
  } catch (const error& e) {
    fuzz::require_status(e, exit_start_failed);
    return 0;
  }
  fuzz::require(ext.end <= size, "the payload offset lies in the file");
  check_inside(ext.upd_info, size);
  check_inside(ext.sha256_sig, size);
  check_inside(ext.sig_key, size);
  payload::has_squashfs_at(fd.get(), ext.end);
  return 0;
}
