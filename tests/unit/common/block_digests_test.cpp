// The block digests: the builder's hash tree writer and the runtime's
// checked reads (sqfs_pread, the one way libsquashfuse reads an image), on a
// file of random bytes standing in for a runtime and a squashfs image.

#include "builder/squashfs/block_digests.hpp"
#include "runtime/image/verified_reads.hpp"

#include <fcntl.h>
#include <nettle/sha2.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <random>
#include <variant>
#include <vector>

#include "../builder/test_support.hpp"
#include "elements/block_digests.hpp"
#include "elements/error.hpp"
#include "elements/unique_fd.hpp"

extern "C" ssize_t sqfs_pread(int fd, void* buf, size_t count, off_t off);

using namespace elements;
namespace digests = elements::payload::digests;

namespace {

constexpr std::uint64_t runtime_bytes = 12345;  // not a multiple of anything
constexpr std::uint64_t block = digests::block_size;

// A "runtime" and an "image" of `image_bytes` (squashfs magic, bytes_used at
// 40, random bytes, zero padded to 4 KiB) in a fresh file.
struct fixture {
  builder_test::temp_dir dir;
  std::string path = (dir / "app").native();
  std::vector<unsigned char> image;
  unique_fd fd;

  explicit fixture(std::uint64_t image_bytes, bool with_digests = true) {
    // Never the same bytes twice: the runtime shares what it checked among
    // descriptors of one file, and a deleted file's inode number comes back.
    static std::uint64_t fixtures = 0;
    std::mt19937_64 random(++fixtures);
    std::vector<unsigned char> head(runtime_bytes);
    for (auto& c : head) c = static_cast<unsigned char>(random());
    image.resize(digests::data_blocks_of(image_bytes) * block);
    for (std::uint64_t i = 0; i < image_bytes; ++i) image[i] = static_cast<unsigned char>(random());
    std::copy_n("hsqs", 4, image.begin());
    for (int i = 0; i < 8; ++i) image[40 + i] = static_cast<unsigned char>(image_bytes >> (8 * i));
    fd.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    REQUIRE(fd);
    REQUIRE(::pwrite(fd.get(), head.data(), head.size(), 0) == ssize_t(head.size()));
    REQUIRE(::pwrite(fd.get(), image.data(), image.size(), runtime_bytes) == ssize_t(image.size()));
    if (with_digests) builder::write_block_digests(fd.get(), runtime_bytes, image_bytes, path);
  }

  void attach() { runtime::attach_block_digests(fd.get(), path, runtime_bytes); }
  void flip(std::uint64_t at) {
    unsigned char c = 0;
    REQUIRE(::pread(fd.get(), &c, 1, static_cast<off_t>(at)) == 1);
    c ^= 0x20;
    REQUIRE(::pwrite(fd.get(), &c, 1, static_cast<off_t>(at)) == 1);
  }
  std::uint64_t size() const { return static_cast<std::uint64_t>(::lseek(fd.get(), 0, SEEK_END)); }
  // Reads image bytes [from, from + n) through the checked reader: the
  // bytes, or errno when it fails.
  std::variant<std::vector<unsigned char>, int> read(std::uint64_t from, std::size_t n) {
    std::vector<unsigned char> buf(n);
    const ssize_t got =
        sqfs_pread(fd.get(), buf.data(), n, static_cast<off_t>(runtime_bytes + from));
    if (got < 0) return errno;
    buf.resize(static_cast<std::size_t>(got));
    return buf;
  }
  std::vector<unsigned char> expected(std::uint64_t from, std::size_t n) const {
    return {image.begin() + static_cast<std::ptrdiff_t>(from),
            image.begin() + static_cast<std::ptrdiff_t>(from + n)};
  }
};

digests::digest sha(const unsigned char* data, std::size_t size) {
  sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, size, data);
  digests::digest d{};
  sha256_digest(&ctx, d.size(), d.data());
  return d;
}

// The root computed the plain way: hash every block, pack, repeat.
digests::digest reference_root(std::vector<unsigned char> level) {
  for (;;) {
    std::vector<unsigned char> above;
    for (std::size_t i = 0; i < level.size(); i += block) {
      const auto d = sha(level.data() + i, block);
      above.insert(above.end(), d.begin(), d.end());
    }
    above.resize((above.size() + block - 1) / block * block, 0);
    if (above.size() == block) return sha(above.data(), block);
    level = std::move(above);
  }
}

}  // namespace

TEST_CASE("the tree is dm-verity's: levels top first, 128 digests a block", "[unit]") {
  auto one = digests::layout_for(1);
  REQUIRE(one.levels.size() == 1);
  CHECK(one.levels[0].first == 1);
  CHECK(one.header == 2);
  CHECK(one.end() == 3);

  auto full = digests::layout_for(128);
  REQUIRE(full.levels.size() == 1);
  CHECK(full.levels[0].count == 1);

  auto two = digests::layout_for(129);
  REQUIRE(two.levels.size() == 2);
  CHECK(two.levels[1].first == 129);  // the top
  CHECK(two.levels[1].count == 1);
  CHECK(two.levels[0].first == 130);
  CHECK(two.levels[0].count == 2);
  CHECK(two.header == 132);

  auto three = digests::layout_for(128 * 128 + 1);
  REQUIRE(three.levels.size() == 3);
  CHECK(three.levels[2].count == 1);
  CHECK(three.levels[1].count == 2);
  CHECK(three.levels[0].count == 129);
  CHECK(three.levels[2].first == three.data_blocks);

  CHECK(digests::data_blocks_of(4096) == 1);
  CHECK(digests::data_blocks_of(4097) == 2);
}

TEST_CASE("the header reads back, and any damage to it is refused", "[unit]") {
  digests::header h;
  h.data_blocks = 1234;
  for (std::size_t i = 0; i < h.root.size(); ++i) h.root[i] = static_cast<unsigned char>(i * 7);
  auto block_bytes = digests::encode_header(h);
  const auto back = digests::decode_header(block_bytes);
  REQUIRE(back);
  CHECK(back->data_blocks == 1234);
  CHECK(back->root == h.root);
  for (std::size_t at : {0u, 15u, 16u, 20u, 200u, 4095u}) {
    auto damaged = block_bytes;
    damaged[at] ^= 1;
    CHECK_FALSE(digests::decode_header(damaged));
  }
}

TEST_CASE("the builder writes the tree and header behind the image", "[unit]") {
  for (std::uint64_t image_bytes : {4096ull, 5000ull, 128 * 4096ull + 1, 300 * 4096ull}) {
    fixture f(image_bytes);
    const auto layout = digests::layout_for(digests::data_blocks_of(image_bytes));
    CHECK(f.size() == runtime_bytes + layout.end() * block);
    std::array<unsigned char, block> head{};
    REQUIRE(::pread(f.fd.get(), head.data(), block,
                    static_cast<off_t>(runtime_bytes + layout.header * block)) == ssize_t(block));
    const auto h = digests::decode_header(head);
    REQUIRE(h);
    CHECK(h->data_blocks == layout.data_blocks);
    CHECK(h->root == reference_root(f.image));
  }
}

TEST_CASE("checked reads give the image's bytes", "[unit]") {
  fixture f(300 * block + 100);
  f.attach();
  for (auto [from, n] : {std::pair<std::uint64_t, std::size_t>{0, 96},
                         {5000, 70000},
                         {8192, 4096},
                         {4095, 2},
                         {0, 301 * block},
                         {301 * block - 1, 1}}) {
    auto got = f.read(from, n);
    REQUIRE(std::holds_alternative<std::vector<unsigned char>>(got));
    CHECK(std::get<0>(got) == f.expected(from, n));
  }
  // Twice: the second read is of blocks already checked.
  CHECK(std::get<0>(f.read(5000, 70000)) == f.expected(5000, 70000));
}

TEST_CASE("one changed byte anywhere is an I/O error, not other bytes", "[unit]") {
  const std::uint64_t image_bytes = 300 * block + 100;
  const auto layout = digests::layout_for(digests::data_blocks_of(image_bytes));

  SECTION("in a data block: reads of it fail, the rest reads") {
    fixture f(image_bytes);
    f.flip(runtime_bytes + 70 * block + 1000);
    f.attach();
    CHECK(std::get<1>(f.read(70 * block + 10, 20)) == EIO);     // inside the block
    CHECK(std::get<1>(f.read(69 * block + 4000, 200)) == EIO);  // across its start
    CHECK(std::get<1>(f.read(0, 301 * block)) == EIO);          // all of it
    CHECK(runtime::digest_mismatch_message(f.path, "a file's data")
              .find("block at byte " + std::to_string(70 * block)) != std::string::npos);
    CHECK(std::get<0>(f.read(71 * block, 4096)) == f.expected(71 * block, 4096));
    CHECK(std::get<0>(f.read(0, 4096)) == f.expected(0, 4096));
    CHECK(runtime::digest_mismatch_message(f.path, "a file's data").empty());
  }
  SECTION("in the superblock, checked before the kernel mounts it") {
    fixture f(image_bytes);
    f.flip(runtime_bytes + 20);
    CHECK_THROWS_WITH(runtime::check_payload_metadata(f.fd.get(), f.path, runtime_bytes),
                      Catch::Contains("block at byte 0 does not match its digest"));
  }
  SECTION("in a level 0 hash block: the blocks it covers fail") {
    fixture f(image_bytes);
    f.flip(runtime_bytes + (layout.levels[0].first + 1) * block + 64);  // blocks 128..255
    f.attach();
    CHECK(std::get<1>(f.read(130 * block, 10)) == EIO);
    CHECK(std::get<0>(f.read(10 * block, 10)) == f.expected(10 * block, 10));
  }
  SECTION("in the top hash block: every read fails") {
    fixture f(image_bytes);
    f.flip(runtime_bytes + layout.levels.back().first * block + 5);
    f.attach();
    CHECK(std::get<1>(f.read(0, 10)) == EIO);
  }
  SECTION("in the header: the file is refused") {
    fixture f(image_bytes);
    f.flip(runtime_bytes + layout.header * block + 40);  // the root
    f.attach();
    CHECK(std::get<1>(f.read(0, 10)) == EIO);
    fixture g(image_bytes);
    g.flip(runtime_bytes + layout.header * block + 3);  // the magic
    CHECK_THROWS_WITH(g.attach(), Catch::Contains("block digests behind the payload are cut "
                                                  "short or damaged"));
  }
  SECTION("in the superblock's size: it no longer matches the digests") {
    fixture f(image_bytes);
    f.flip(runtime_bytes + 41);
    CHECK_THROWS_WITH(f.attach(), Catch::Contains("superblock does not match its block digests"));
  }
  SECTION("the digests cut short") {
    fixture f(image_bytes);
    REQUIRE(::ftruncate(f.fd.get(), static_cast<off_t>(f.size() - block)) == 0);
    CHECK_THROWS_WITH(f.attach(), Catch::Contains("cut short"));
  }
}

TEST_CASE("a file without digests reads as it is", "[unit]") {
  fixture f(10 * block, false);
  f.flip(runtime_bytes + 5 * block);
  f.attach();
  auto got = f.read(0, 10 * block);
  REQUIRE(std::holds_alternative<std::vector<unsigned char>>(got));
  CHECK(std::get<0>(got)[5 * block] == (f.image[5 * block] ^ 0x20));
  CHECK(runtime::check_payload_metadata(f.fd.get(), f.path, runtime_bytes) == 0);
}

// The fixture's image with its "tables" from block `first` to the end, and
// its digests written again.
static void tables_from(fixture& f, std::uint64_t first) {
  for (int i = 0; i < 8; ++i)
    f.image[64 + i] = static_cast<unsigned char>((first * block) >> (8 * i));
  REQUIRE(::pwrite(f.fd.get(), f.image.data(), 96, runtime_bytes) == 96);
  builder::write_block_digests(f.fd.get(), runtime_bytes, f.image.size(), f.path);
}

TEST_CASE("before the kernel mounts it, the superblock and tables are checked", "[unit]") {
  fixture f(300 * block);
  tables_from(f, 200);
  CHECK(runtime::check_payload_metadata(f.fd.get(), f.path, runtime_bytes) == 101);
  f.flip(runtime_bytes + 100 * block);  // a data block: the kernel reads it unchecked
  CHECK(runtime::check_payload_metadata(f.fd.get(), f.path, runtime_bytes) == 101);

  fixture damaged(300 * block);
  tables_from(damaged, 200);
  damaged.flip(runtime_bytes + 250 * block + 7);
  CHECK_THROWS_WITH(runtime::check_payload_metadata(damaged.fd.get(), damaged.path, runtime_bytes),
                    Catch::Contains("block at byte " + std::to_string(250 * block)));
}
