// The payload reader on whole squashfs images: the superblock check and
// the bounded readers of runtime/image/squash_check.cpp over libsquashfuse, as
// the runtime uses them. Each input is read as the spec read does it
// (read_payload_file), walked as the FUSE server serves it (every
// directory listed, from the start and from each entry's position; every
// name looked up; every inode's attributes, ids and xattrs; every file
// read whole and in pieces; every link read), then extracted into a temp
// folder that is removed afterwards.
//
// Properties: a damaged image is refused with an elements::error of status
// 125 or a reader's SQFS_ERR, never anything else; a read returns no more
// than was asked or than the file holds, and the same bytes in pieces as
// in one go; a listing started at an entry's position starts with that
// entry; a name found in a listing is found by lookup.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "runtime/image/squash_image.hpp"
#include "runtime/mount/squash_extract.hpp"

using namespace elements;
using namespace elements::runtime;

namespace {

// Bounds on the work one input may cause, so that an image of huge sparse
// files or thousands of entries is walked in time; none of them stops the
// walk early on the images of the seed corpus.
constexpr std::size_t max_entries = 2000;
constexpr std::uint64_t max_read = 256 * 1024;    // bytes read of each file
constexpr std::uint64_t max_extracted = 8 << 20;  // total file size extracted

struct walker {
  squash_image& img;
  squash_reader& r;
  std::set<sqfs_inode_id> seen;
  std::size_t entries = 0;
  std::uint64_t file_bytes = 0;
  std::vector<char> whole, piece;

  void file(const sqfs_inode& in) {
    const std::uint64_t size = in.xtra.reg.file_size;
    file_bytes += size;
    const std::size_t want = static_cast<std::size_t>(std::min(size, max_read));
    whole.assign(want + 16, '\x5a');
    std::size_t n = want + 16;
    if (r.read(in, 0, whole.data(), n) != SQFS_OK) return;
    fuzz::require(n <= want + 16 && n == std::min<std::uint64_t>(size, want + 16),
                  "a read returns what the file holds, up to the size asked");
    // The same bytes in pieces of an odd size, the last one read past the end.
    n = std::min<std::size_t>(n, want);
    piece.resize(1000);
    for (std::size_t at = 0; at < n;) {
      std::size_t got = piece.size();
      if (r.read(in, at, piece.data(), got) != SQFS_OK) return;
      fuzz::require(got > 0 && got <= piece.size(), "a read inside the file returns bytes");
      const std::size_t cmp = std::min(got, n - at);
      fuzz::require(std::memcmp(piece.data(), whole.data() + at, cmp) == 0,
                    "a file reads the same in pieces as in one go");
      at += got;
    }
    std::size_t past = 10;
    if (r.read(in, size, piece.data(), past) == SQFS_OK)
      fuzz::require(past == 0, "a read at the end returns nothing");
    if (size > max_read) {  // the last block too, through the block list
      std::size_t tail = piece.size();
      (void)r.read(in, size - 1, piece.data(), tail);
    }
  }

  void inode(const sqfs_inode& in) {
    sqfs_id_t id = 0;
    (void)r.id(in.base.uid, id);
    (void)r.id(in.base.guid, id);
    std::vector<squash_xattr> xattrs;
    if (r.xattrs(in, xattrs) == SQFS_OK)
      for (const auto& x : xattrs)
        fuzz::require(x.name.size() <= 264 && x.value.size() <= 65536,
                      "xattr names and values are bounded");
    if (S_ISREG(in.base.mode)) file(in);
    if (S_ISLNK(in.base.mode)) {
      std::string target;
      if (r.readlink(in, target) == SQFS_OK)
        fuzz::require(
            !target.empty() && target.size() < 4096 && target.find('\0') == std::string::npos,
            "a link target is a path");
    }
  }

  void dir(const sqfs_inode& in, int depth) {
    squash_dir d;
    if (depth > 64 || r.open_dir(in, 0, d) != SQFS_OK) return;
    std::vector<squash_dirent> list;
    squash_dirent e;
    sqfs_err err = SQFS_OK;
    while (entries < max_entries && r.next(d, e, err)) {
      ++entries;
      fuzz::require(!e.name.empty() && e.name.size() <= 256 && e.name != "." && e.name != ".." &&
                        e.name.find_first_of(std::string("/\0", 2)) == std::string::npos,
                    "entry names are plain names");
      fuzz::require(e.offset < e.next_offset, "a listing moves forward");
      list.push_back(e);
    }
    for (const auto& entry : list) {
      squash_dir from;
      squash_dirent first, found;
      if (r.open_dir(in, entry.offset, from) == SQFS_OK && r.next(from, first, err))
        fuzz::require(first.offset == entry.offset && first.name == entry.name,
                      "a listing from an entry's position starts with that entry");
      bool hit = false;
      if (r.lookup(in, entry.name, found, hit) == SQFS_OK)
        fuzz::require(hit && found.name == entry.name, "a listed name is found by lookup");
      sqfs_inode child;
      if (r.inode(entry.inode, child) != SQFS_OK) continue;
      inode(child);
      if (S_ISDIR(child.base.mode) && seen.insert(entry.inode).second) dir(child, depth + 1);
    }
  }
};

// Extraction into a fresh folder of the temp dir, removed afterwards.
void extract(const payload_file& file) {
  char tmpl[] = "/tmp/elements-fuzz-extract-XXXXXX";
  if (!::mkdtemp(tmpl)) std::abort();
  const std::string parent = tmpl;
  {
    const unique_fd dest(::open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dest) std::abort();
    extract_options opts;
    opts.display = "squashfs-root/";
    try {
      extract_tree(file, dest.get(), opts);
    } catch (const error& e) {
      fuzz::require_status(e, exit_start_failed);
    }
  }
  const unique_fd up(::open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC));
  fuzz::require(remove_tree(up.get(), parent.c_str() + 5), "the extracted tree is removed");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  payload_file file{fuzz::memory_fd(data, size), "fuzz.sqfs", 0};
  try {
    (void)read_payload_file(file, ".elements/spec.json");
  } catch (const error& e) {
    fuzz::require_status(e, exit_start_failed);
  }
  std::uint64_t file_bytes = 0;
  try {
    squash_image img(file);
    walker w{img, img.reader(), {}, 0, 0, {}, {}};
    sqfs_inode root;
    if (img.reader().inode(sqfs_inode_root(img.fs()), root) == SQFS_OK) {
      w.inode(root);
      if (S_ISDIR(root.base.mode)) w.dir(root, 0);
    }
    file_bytes = w.file_bytes;
  } catch (const error& e) {
    fuzz::require_status(e, exit_start_failed);
    return 0;
  }
  if (file_bytes <= max_extracted) extract(file);
  return 0;
}
