// Checking what is read from a payload against the block digests the
// builder wrote behind it (elements/block_digests.hpp): a damaged block is a
// read error, never other bytes. libsquashfuse reads the image only through
// sqfs_pread(), which this runtime defines, so every read of an attached
// descriptor is checked: each 4 KiB block is hashed the first time it is
// read in a run and trusted after that. Internal to runtime/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace elements::runtime {

// Before libsquashfuse opens the image at `offset` of `fd`: loads its
// digests, when it has them, so that every later read of `fd` by the library
// is checked. A file without digests (built before them) is read as it is,
// unless it is signed. Throws elements::error naming `path` when the digests
// are damaged, or a signed file has none.
void attach_block_digests(int fd, const std::string& path, std::uint64_t offset);

// For readers the check cannot see (the kernel's squashfs): checks the
// superblock and every table, from the inode table to the end of the image,
// before it is mounted. Returns how many blocks were checked (0: the file has
// no digests). Throws elements::error naming `path` on a mismatch.
std::uint64_t check_payload_metadata(int fd, const std::string& path, std::uint64_t offset);

// For a reader whose errors only the container's command sees (the FUSE
// server: EIO): the first block of `fd` that fails its digest in this run is
// also said on stderr, in one line naming the block.
void say_digest_mismatches(int fd);

// After a read of this thread failed: the one-line message saying which
// block did not match its digest and what could not be read because of it,
// or "" when no block failed its digest.
std::string digest_mismatch_message(const std::string& path, std::string_view what);

}  // namespace elements::runtime
