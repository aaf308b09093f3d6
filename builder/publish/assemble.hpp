// The file itself (DESIGN.md section 1): the runtime, its update information,
// and the squashfs payload at the runtime's ELF extent end.
#pragma once

#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "builder/squashfs/squashfs_writer.hpp"
#include "builder/tree.hpp"
#include "elements/payload.hpp"

namespace elements::builder {

struct runtime_image {
  std::string name;                  // for messages
  std::vector<unsigned char> bytes;  // exactly up to the payload offset
  payload::elf_extent extent;
};

// Checks that `bytes` are an AppImage type 2 runtime and cuts or pads them to
// the payload offset, as the runtime computes it. Throws usage_error.
runtime_image load_runtime(std::span<const unsigned char> bytes, std::string name);
runtime_image load_runtime_file(const std::filesystem::path& path);

struct assembly {
  std::filesystem::path output;
  std::string update_information;  // into .upd_info, NUL padded
  squashfs_options squashfs;
  // Runs on the whole file (fd open for reading and writing; it may have no
  // name yet) before it is given its name: signing, the .zsync.
  std::function<void(int fd)> seal;
};

// Writes the runtime and the payload image to `output`, whole or not at all.
// A signature the runtime carries (taken from a signed file) is cleared.
squashfs_result assemble(const runtime_image& runtime, const node_ptr& payload,
                         const assembly& how);

}  // namespace elements::builder
