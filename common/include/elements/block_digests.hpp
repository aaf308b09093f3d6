// The block digests behind the payload (DESIGN.md section 1): a SHA-256
// hash tree over the squashfs image in 4 KiB blocks, in dm-verity's format,
// so that every byte a reader takes from the image can be checked where it
// is read.
//
//   payload offset N   squashfs image, zero padded to 4 KiB: D data blocks
//   N + D*4K           the tree, top level first; level 0 holds the digests
//                      of the data blocks, 128 to a 4 KiB block (the last
//                      one zero padded), each level above the digests of the
//                      blocks below; the top level is one block, whose
//                      digest is the root
//   last 4 KiB         header: "elements-digests", format 1, D, the root
//
// No salt: a block's digest is SHA-256 of its 4096 bytes, as dm-verity's
// (`veritysetup verify --no-superblock --hash-offset=N+D*4K --data-blocks=D
// --salt=- FILE FILE ROOT` with a loop device at N checks the same tree).
// The header is last so that it is found from the file's size, not from the
// superblock it vouches for. Hashing is each side's own; this is the
// geometry and the header.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace elements::payload::digests {

inline constexpr std::uint32_t block_size = 4096;
inline constexpr std::size_t digest_size = 32;
inline constexpr std::size_t per_block = block_size / digest_size;

using digest = std::array<unsigned char, digest_size>;

// Where everything sits, in 4 KiB blocks counted from the payload offset.
struct tree_layout {
  struct level {
    std::uint64_t first = 0;  // block of the level's first hash block
    std::uint64_t count = 0;  // hash blocks in the level
  };
  std::uint64_t data_blocks = 0;  // the squashfs, padded
  std::vector<level> levels;      // [0] covers the data; back() is the single top block
  std::uint64_t header = 0;       // the header block, the file's last

  std::uint64_t end() const noexcept { return header + 1; }
};

// The 4 KiB blocks that hold a squashfs image of `image_bytes` (its bytes_used).
std::uint64_t data_blocks_of(std::uint64_t image_bytes);
tree_layout layout_for(std::uint64_t data_blocks);

struct header {
  std::uint64_t data_blocks = 0;
  digest root{};
};

std::array<unsigned char, block_size> encode_header(const header& h);
// std::nullopt when `block` is not a header this reader can use: another
// format, other parameters, or damage.
std::optional<header> decode_header(std::span<const unsigned char, block_size> block);

}  // namespace elements::payload::digests
