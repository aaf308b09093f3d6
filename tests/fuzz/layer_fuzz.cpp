// The layer reader (builder/sources/layers.cpp over archive_reader.cpp, libarchive)
// on arbitrary archives, plain or compressed: the same bytes are applied as
// two layers, so the second one's whiteouts and hard links meet a tree the
// first one made.
//
// Properties: a damaged or hostile layer is refused with exit status 1,
// never another exception; an accepted tree has only plain names (no "",
// ".", ".." or "/"), folders at every level, and nothing under a symlink;
// every file's bytes read back, as many as its size says, whether they were
// copied or are read in place from the archive.
#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdint>
#include <string>

#include "builder/sources/layers.hpp"
#include "fuzz_support.hpp"

using namespace elements;
using namespace elements::builder;

namespace {

void check_tree(const node& dir, int depth) {
  fuzz::require(dir.is_dir(), "entries are only made in folders");
  fuzz::require(depth < 4096, "the tree is as deep as a layer can make it");
  for (const auto& [name, child] : dir.entries) {
    fuzz::require(!name.empty() && name != "." && name != ".." &&
                      name.find('/') == std::string::npos && name.find('\0') == std::string::npos,
                  "entry names are plain names");
    fuzz::require(child != nullptr, "entries are nodes");
    if (child->is_dir()) check_tree(*child, depth + 1);
    if (S_ISREG(child->mode)) {
      fuzz::require(child->content != nullptr, "files have contents");
      std::uint64_t got = 0;
      child->content->read([&](std::span<const unsigned char> bytes) { got += bytes.size(); });
      fuzz::require(got == child->content->size_hint(), "a file reads back its size in bytes");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // File contents go to a temporary file: a decompression bomb or a huge
  // sparse entry then ends with EFBIG, a refused layer, not a full disk.
  std::signal(SIGXFSZ, SIG_IGN);
  const rlimit fsize{64 << 20, 64 << 20};
  ::setrlimit(RLIMIT_FSIZE, &fsize);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const unique_fd fd = fuzz::memory_fd(data, size);
  layer_stack stack({0, 0, 1700000000});
  try {
    for (const char* name : {"layer 1", "layer 2"}) {
      layer_input layer;
      layer.fd.reset(::dup(fd.get()));
      layer.name = name;
      stack.apply(layer);
    }
  } catch (const error& e) {
    fuzz::require_status(e, exit_build_failed);
    return 0;
  }
  check_tree(*stack.root(), 0);
  return 0;
}
