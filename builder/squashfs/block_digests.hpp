// The block digests behind the payload (common/include/elements/block_digests.hpp
// has the layout): hashed from the image as written, so the runtime can
// check every block it reads.
#pragma once

#include <cstdint>
#include <string>

#include "elements/block_digests.hpp"

namespace elements::builder {

// Writes the header and hash tree behind the squashfs image of
// `image_bytes` (its bytes_used) at byte `offset` of `fd`, which holds the
// image padded to 4 KiB. Returns the root digest. Throws elements::error
// naming `name`.
payload::digests::digest write_block_digests(int fd, std::uint64_t offset,
                                             std::uint64_t image_bytes, const std::string& name);

}  // namespace elements::builder
