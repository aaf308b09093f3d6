// The runtime's own file: where its payload starts and what its ELF
// sections hold.
#pragma once

#include <optional>
#include <string>

#include "elements/payload.hpp"
#include "elements/spec.hpp"
#include "runtime/mount/squash_mount.hpp"

namespace elements::runtime {

struct self_image {
  payload_file file;
  payload::elf_extent extent;
  // false for squashfs-root/AppRun, whose payload is beside it; true when
  // anything follows the ELF, even a damaged payload
  bool has_payload = false;
};

// Opens `target` ($TARGET_APPIMAGE; when set but empty, still the file
// /proc/self/exe names) or /proc/self/exe and locates the payload.
self_image open_self_image(const std::optional<std::string>& target);

// The spec: from the payload inside the file, or from `directory` (the tree
// beside it, or one extracted) when not empty. Throws naming the fix.
spec read_self_spec(const self_image& self, const std::string& directory);

// The contents of a section, NUL padding removed ("" when absent).
std::string read_section(const self_image& self, const std::optional<payload::section>& sec);

}  // namespace elements::runtime
