#include "runtime/image/verified_reads.hpp"

#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "elements/block_digests.hpp"
#include "elements/error.hpp"
#include "elements/payload.hpp"
#include "runtime/image/sha256.hpp"

namespace elements::runtime {
namespace {

namespace digests = payload::digests;
constexpr std::uint64_t block = digests::block_size;

// The block that last failed its digest on this thread, for the message.
thread_local std::optional<std::uint64_t> mismatched_at;

bool read_all(int fd, unsigned char* buf, std::size_t size, std::uint64_t at) {
  for (std::size_t got = 0; got < size;) {
    const ssize_t n = ::pread(fd, buf + got, size - got, static_cast<off_t>(at + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += static_cast<std::size_t>(n);
  }
  return true;
}

digests::digest hash_of(const unsigned char* data) {
  sha256 h;
  h.update(data, block);
  return h.digest();
}

// The digests of one payload and what of it has been checked so far. Hash
// blocks are read and checked on first use, from the top level down, so a
// run reads only the part of the tree that covers what it reads.
class verifier {
 public:
  verifier(std::uint64_t offset, const digests::tree_layout& layout, const digests::header& h)
      : offset_(offset), layout_(layout), root_(h.root), data_ok_((layout.data_blocks + 63) / 64) {
    for (const auto& l : layout_.levels)
      // Not value-initialised: pages of a large tree that are never read
      // are never touched.
      levels_.push_back({std::unique_ptr<unsigned char[]>(new unsigned char[l.count * block]),
                         std::vector<bool>(l.count)});
  }

  std::uint64_t offset() const noexcept { return offset_; }
  const digests::digest& root() const noexcept { return root_; }

  // pread() of `size` bytes at file position `at`, every byte checked: -1
  // with EIO when a block does not match or lies outside the image.
  ssize_t read(int fd, unsigned char* buf, std::size_t size, std::uint64_t at) {
    const std::uint64_t data_end = layout_.data_blocks * block;
    if (at < offset_ || at - offset_ > data_end || size > data_end - (at - offset_))
      return failed(at < offset_ ? 0 : (at - offset_) / block);
    const std::uint64_t from = at - offset_, to = from + size;
    const std::uint64_t first = from / block, last = (to + block - 1) / block;
    bool checked = true;
    for (std::uint64_t b = first; b < last && checked; ++b) checked = data_ok(b);
    if (checked) return ::pread(fd, buf, size, static_cast<off_t>(at));
    // The whole blocks, in one read (as many calls as without digests),
    // checked before any of their bytes is handed on.
    thread_local std::vector<unsigned char> whole;
    // Grown only, never cleared: resizing down and up would zero it each time.
    if (whole.size() < (last - first) * block) whole.resize((last - first) * block);
    if (!read_all(fd, whole.data(), (last - first) * block, offset_ + first * block)) {
      if (errno == 0) errno = EIO;
      return -1;
    }
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      for (std::uint64_t b = first; b < last; ++b) {
        if (data_ok(b)) continue;
        if (!matches(fd, b, whole.data() + (b - first) * block)) return failed(b);
        data_ok_[b / 64].fetch_or(std::uint64_t{1} << (b % 64), std::memory_order_release);
      }
    }
    std::memcpy(buf, whole.data() + (from - first * block), size);
    return static_cast<ssize_t>(size);
  }

  // Checks data blocks [first, last) by reading them; returns the first
  // that does not match, if any.
  std::optional<std::uint64_t> check_blocks(int fd, std::uint64_t first, std::uint64_t last) {
    std::vector<unsigned char> buf(64 * block);
    for (std::uint64_t b = first; b < last;) {
      const std::uint64_t n = std::min<std::uint64_t>(64, last - b);
      if (read(fd, buf.data(), n * block, offset_ + b * block) < 0)
        return mismatched_at.value_or(b);
      b += n;
    }
    return std::nullopt;
  }

 private:
  struct level {
    std::unique_ptr<unsigned char[]> bytes;
    std::vector<bool> ok;
  };

  bool data_ok(std::uint64_t b) const {
    return data_ok_[b / 64].load(std::memory_order_acquire) >> (b % 64) & 1;
  }

  ssize_t failed(std::uint64_t b) {
    mismatched_at = b;
    errno = EIO;
    return -1;
  }

  // Data block `b` (whose bytes are `data`) against its digest; the mutex is held.
  bool matches(int fd, std::uint64_t b, const unsigned char* data) {
    const unsigned char* digests = hash_block(fd, 0, b / digests::per_block);
    if (!digests) return false;
    const auto d = hash_of(data);
    return std::memcmp(d.data(), digests + b % digests::per_block * digests::digest_size,
                       d.size()) == 0;
  }

  // Hash block `i` of level `n`, checked against the level above (the
  // root for the top one); nullptr when it cannot be read or does not match.
  const unsigned char* hash_block(int fd, std::size_t n, std::uint64_t i) {
    level& l = levels_[n];
    unsigned char* bytes = l.bytes.get() + i * block;
    if (l.ok[i]) return bytes;
    if (!read_all(fd, bytes, block, offset_ + (layout_.levels[n].first + i) * block))
      return nullptr;
    const unsigned char* expected = root_.data();
    if (n + 1 < levels_.size()) {
      const unsigned char* above = hash_block(fd, n + 1, i / digests::per_block);
      if (!above) return nullptr;
      expected = above + i % digests::per_block * digests::digest_size;
    }
    const auto d = hash_of(bytes);
    if (std::memcmp(d.data(), expected, d.size()) != 0) return nullptr;
    l.ok[i] = true;
    return bytes;
  }

  const std::uint64_t offset_;
  const digests::tree_layout layout_;
  const digests::digest root_;
  std::vector<std::atomic<std::uint64_t>> data_ok_;  // a bit per data block
  std::mutex mutex_;                                 // over levels_
  std::vector<level> levels_;
};

// Which descriptor reads which payload. A descriptor is attached again
// whenever libsquashfuse opens an image on it, so an entry left by a closed
// one is replaced before its number can be read through again. Descriptors
// of one file share what has been checked.
struct attachment {
  int fd;
  dev_t dev;
  ino_t ino;
  std::shared_ptr<verifier> v;  // null: the file has no digests
  std::string path;
  bool say = false;  // say_digest_mismatches()
};
std::mutex registry_mutex;
std::vector<attachment> registry;

std::shared_ptr<verifier> verifier_of(int fd) {
  const std::lock_guard<std::mutex> lock(registry_mutex);
  for (const auto& a : registry)
    if (a.fd == fd) return a.v;
  return nullptr;
}

[[noreturn]] void damaged_digests(const std::string& path, std::string_view why) {
  throw error(path + ": the block digests behind the payload " + std::string(why) +
              " (hint: the file is damaged or truncated; download or build it again)");
}

bool is_signed(int fd, const std::string& path, std::uint64_t offset) {
  if (offset == 0) return false;
  try {
    const auto ext = payload::read_elf_extent(fd, path);
    if (!ext.sha256_sig || ext.sha256_sig->size == 0) return false;
    std::vector<unsigned char> sig(ext.sha256_sig->size);
    if (!read_all(fd, sig.data(), sig.size(), ext.sha256_sig->offset)) return false;
    return std::any_of(sig.begin(), sig.end(), [](unsigned char c) { return c != 0; });
  } catch (const error&) {
    return false;  // not an ELF in front: opening it says what is wrong
  }
}

// The digests of the image at `offset` of fd; null when it has none.
std::shared_ptr<verifier> load(int fd, const std::string& path, std::uint64_t offset,
                               std::uint64_t file_size) {
  unsigned char super[48];
  if (file_size <= offset || !read_all(fd, super, sizeof super, offset) ||
      std::memcmp(super, payload::squashfs_magic, sizeof payload::squashfs_magic) != 0)
    return nullptr;  // not squashfs: opening it says so
  std::uint64_t bytes_used = 0;
  for (int i = 7; i >= 0; --i) bytes_used = bytes_used << 8 | super[40 + i];
  const std::uint64_t size = file_size - offset;
  std::optional<digests::header> h;
  if (size % block == 0 && size >= 2 * block) {
    std::array<unsigned char, block> last{};
    if (read_all(fd, last.data(), block, file_size - block)) h = digests::decode_header(last);
  }
  if (!h) {
    // Files built before the digests end with the image's padding; one cut
    // inside its image is reported by reading it.
    if (size <= digests::data_blocks_of(bytes_used) * block) {
      if (is_signed(fd, path, offset))
        throw error(path +
                    ": the file is signed but carries no block digests, so its payload cannot "
                    "be checked as it is read (hint: it was changed after it was signed, or "
                    "made by an older elements-pack; download or build it again)");
      return nullptr;
    }
    damaged_digests(path, "are cut short or damaged");
  }
  const auto layout = digests::layout_for(h->data_blocks);
  if (layout.end() * block != size) damaged_digests(path, "do not fit the file");
  if (layout.data_blocks != digests::data_blocks_of(bytes_used))
    throw error(path +
                ": the payload's superblock does not match its block digests (hint: the file "
                "is damaged; download or build it again)");
  return std::make_shared<verifier>(offset, layout, *h);
}

}  // namespace

void attach_block_digests(int fd, const std::string& path, std::uint64_t offset) {
  mismatched_at.reset();
  struct stat st {};
  check(::fstat(fd, &st), "read", path);
  std::shared_ptr<verifier> v = load(fd, path, offset, static_cast<std::uint64_t>(st.st_size));
  const std::lock_guard<std::mutex> lock(registry_mutex);
  // Another descriptor of the same payload: share what it has checked.
  for (const auto& a : registry)
    if (v && a.v && a.dev == st.st_dev && a.ino == st.st_ino && a.v->offset() == offset &&
        a.v->root() == v->root())
      v = a.v;
  std::erase_if(registry, [&](const attachment& a) { return a.fd == fd; });
  registry.push_back({fd, st.st_dev, st.st_ino, std::move(v), path});
}

void say_digest_mismatches(int fd) {
  const std::lock_guard<std::mutex> lock(registry_mutex);
  for (auto& a : registry)
    if (a.fd == fd) a.say = true;
}

std::uint64_t check_payload_metadata(int fd, const std::string& path, std::uint64_t offset) {
  attach_block_digests(fd, path, offset);
  const auto v = verifier_of(fd);
  if (!v) return 0;
  unsigned char super[96];
  if (!read_all(fd, super, sizeof super, offset)) return 0;  // mounting says so
  auto u64 = [&](std::size_t at) {
    std::uint64_t x = 0;
    for (std::size_t i = 8; i-- > 0;) x = x << 8 | super[at + i];
    return x;
  };
  const std::uint64_t bytes_used = u64(40), inode_table = u64(64);
  const std::uint64_t last = (bytes_used + block - 1) / block;
  const std::uint64_t first_table = std::min(inode_table / block, last);
  std::optional<std::uint64_t> bad = v->check_blocks(fd, 0, 1);
  if (!bad) bad = v->check_blocks(fd, std::max<std::uint64_t>(first_table, 1), last);
  if (bad) {
    mismatched_at = bad;
    throw error(digest_mismatch_message(path, "its tables"));
  }
  return 1 + last - std::max<std::uint64_t>(first_table, 1);
}

namespace {

// Once a run: a damaged file fails many reads.
void said_mismatch(int fd) {
  static std::atomic<bool> said{false};
  std::string path;
  {
    const std::lock_guard<std::mutex> lock(registry_mutex);
    for (const auto& a : registry)
      if (a.fd == fd && a.say) path = a.path;
  }
  if (path.empty() || said.exchange(true)) return;
  const std::string line = path.substr(path.rfind('/') + 1) + ": " +
                           digest_mismatch_message(path, "the files that use it") + "\n";
  (void)!::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace

std::string digest_mismatch_message(const std::string& path, std::string_view what) {
  if (!mismatched_at) return {};
  return path + ": the payload is damaged: its 4 KiB block at byte " +
         std::to_string(*mismatched_at * block) + " does not match its digest, so " +
         std::string(what) +
         " cannot be read (hint: the file was damaged or changed; download or build it again)";
}

}  // namespace elements::runtime

// libsquashfuse's one way to the image (nonstd-pread.c upstream): defined
// here, the library's own is never linked, and every read is checked.
extern "C" ssize_t sqfs_pread(int fd, void* buf, size_t count, off_t off) {
  const auto v = elements::runtime::verifier_of(fd);
  if (!v) return ::pread(fd, buf, count, off);
  if (off < 0) {
    errno = EINVAL;
    return -1;
  }
  elements::runtime::mismatched_at.reset();
  const ssize_t n =
      v->read(fd, static_cast<unsigned char*>(buf), count, static_cast<std::uint64_t>(off));
  if (n < 0 && elements::runtime::mismatched_at) elements::runtime::said_mismatch(fd);
  return n;
}
