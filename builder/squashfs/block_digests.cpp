#include "builder/squashfs/block_digests.hpp"

#include <nettle/sha2.h>
#include <unistd.h>

#include <vector>

#include "builder/publish/output_file.hpp"
#include "elements/error.hpp"

namespace elements::builder {
namespace {

namespace digests = payload::digests;

void hash_block(const unsigned char* block, unsigned char* out) {
  sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, digests::block_size, block);
  sha256_digest(&ctx, digests::digest_size, out);
}

// The digests of `count` consecutive blocks at `offset` of fd, packed into
// whole hash blocks (the last one zero padded).
std::vector<unsigned char> hash_data(int fd, std::uint64_t offset, std::uint64_t count,
                                     const std::string& name) {
  std::vector<unsigned char> level(
      (count + digests::per_block - 1) / digests::per_block * digests::block_size, 0);
  std::vector<unsigned char> buf(256 * digests::block_size);
  for (std::uint64_t done = 0; done < count;) {
    const std::uint64_t want =
        std::min<std::uint64_t>(count - done, buf.size() / digests::block_size);
    const std::size_t bytes = want * digests::block_size;
    for (std::size_t got = 0; got < bytes;) {
      const ssize_t n = ::pread(fd, buf.data() + got, bytes - got,
                                static_cast<off_t>(offset + done * digests::block_size + got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno("read back", name);
      if (n == 0)
        throw error(name + ": the squashfs image ends before its last block", exit_build_failed);
      got += static_cast<std::size_t>(n);
    }
    for (std::uint64_t i = 0; i < want; ++i)
      hash_block(buf.data() + i * digests::block_size,
                 level.data() + (done + i) * digests::digest_size);
    done += want;
  }
  return level;
}

std::vector<unsigned char> hash_level(const std::vector<unsigned char>& below) {
  const std::size_t count = below.size() / digests::block_size;
  std::vector<unsigned char> level(
      (count + digests::per_block - 1) / digests::per_block * digests::block_size, 0);
  for (std::size_t i = 0; i < count; ++i)
    hash_block(below.data() + i * digests::block_size, level.data() + i * digests::digest_size);
  return level;
}

}  // namespace

digests::digest write_block_digests(int fd, std::uint64_t offset, std::uint64_t image_bytes,
                                    const std::string& name) {
  const auto layout = digests::layout_for(digests::data_blocks_of(image_bytes));
  std::vector<std::vector<unsigned char>> levels;
  levels.push_back(hash_data(fd, offset, layout.data_blocks, name));
  while (levels.back().size() > digests::block_size) levels.push_back(hash_level(levels.back()));
  digests::header h;
  h.data_blocks = layout.data_blocks;
  hash_block(levels.back().data(), h.root.data());
  const auto head = digests::encode_header(h);
  write_at(fd, head, offset + layout.header * digests::block_size, name);
  for (std::size_t i = 0; i < levels.size(); ++i)
    write_at(fd, levels[i], offset + layout.levels[i].first * digests::block_size, name);
  return h.root;
}

}  // namespace elements::builder
