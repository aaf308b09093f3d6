// Image fixtures the source tests share: tar layers written with libarchive
// (owners, devices, xattrs and whiteouts need no privileges in a tar), the
// layered tree they make, and reading blobs of an OCI layout.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>

#include "builder/digest.hpp"
#include "builder/sources/source.hpp"
#include "builder/tree.hpp"
#include "elements/error.hpp"
#include "test_support.hpp"

namespace builder_test {

using json = nlohmann::json;

// A file capability granting cap_net_raw (bit 13), permitted and effective:
// struct vfs_cap_data, revision 2, little endian.
inline const std::string net_raw_capability = std::string(
    "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);

struct tar_meta {
  mode_t mode = 0644;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::int64_t mtime = 1500000000;
  std::map<std::string, std::string> xattrs;
};

class tar_writer {
 public:
  using meta = tar_meta;

  // `filter`: "", "gzip", "zstd" or "xz".
  explicit tar_writer(const fs::path& path, const std::string& filter = "")
      : a_(archive_write_new()) {
    REQUIRE(archive_write_set_format_pax(a_) == ARCHIVE_OK);
    if (filter == "gzip") REQUIRE(archive_write_add_filter_gzip(a_) == ARCHIVE_OK);
    if (filter == "zstd") REQUIRE(archive_write_add_filter_zstd(a_) == ARCHIVE_OK);
    if (filter == "xz") REQUIRE(archive_write_add_filter_xz(a_) == ARCHIVE_OK);
    REQUIRE(archive_write_open_filename(a_, path.c_str()) == ARCHIVE_OK);
  }
  tar_writer(const tar_writer&) = delete;
  tar_writer& operator=(const tar_writer&) = delete;
  ~tar_writer() { close(); }

  void close() {
    if (!a_) return;
    archive_write_close(a_);
    archive_write_free(a_);
    a_ = nullptr;
  }

  void file(const std::string& name, const std::string& content, meta m = {}) {
    add(
        name, AE_IFREG, m, [&](archive_entry* e) { archive_entry_set_size(e, content.size()); },
        content);
  }
  void dir(const std::string& name, meta m = {}) {
    if (m.mode == 0644) m.mode = 0755;
    add(name, AE_IFDIR, m, {});
  }
  void symlink(const std::string& name, const std::string& target) {
    add(name, AE_IFLNK, {0777},
        [&](archive_entry* e) { archive_entry_set_symlink(e, target.c_str()); });
  }
  void hardlink(const std::string& name, const std::string& target) {
    add(name, AE_IFREG, {}, [&](archive_entry* e) {
      archive_entry_set_hardlink(e, target.c_str());
      archive_entry_set_size(e, 0);
    });
  }
  void device(const std::string& name, mode_t type, unsigned major, unsigned minor, meta m) {
    add(name, type, m, [&](archive_entry* e) { archive_entry_set_rdev(e, makedev(major, minor)); });
  }
  void fifo(const std::string& name, meta m) { add(name, AE_IFIFO, m, {}); }

 private:
  void add(const std::string& name, mode_t type, const meta& m,
           const std::function<void(archive_entry*)>& extra, const std::string& content = {}) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, m.mode);
    archive_entry_set_uid(e, m.uid);
    archive_entry_set_gid(e, m.gid);
    archive_entry_set_mtime(e, m.mtime, 0);
    for (const auto& [k, v] : m.xattrs)
      archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
    if (extra) extra(e);
    REQUIRE(archive_write_header(a_, e) == ARCHIVE_OK);
    if (!content.empty())
      REQUIRE(archive_write_data(a_, content.data(), content.size()) ==
              static_cast<la_ssize_t>(content.size()));
    archive_entry_free(e);
  }

  archive* a_;
};

// The lower layer: one of everything a rootfs holds.
inline void write_base_layer(const fs::path& path, const std::string& filter = "") {
  tar_writer t(path, filter);
  t.dir("./", {0755, 0, 0, 1400000000});
  t.dir("etc/");
  t.file("etc/passwd", "root:x:0:0::/root:/bin/sh\n");
  t.dir("home/user/", {0750, 1234, 5678});
  t.file("home/user/notes", "mine\n", {0640, 1234, 5678, 1600000000});
  t.file("usr/bin/suid", "setuid program", {04755});
  t.file("usr/bin/ping", "pings",
         {0755,
          0,
          0,
          1500000000,
          {{"security.capability", net_raw_capability}, {"user.comment", "hello"}}});
  t.symlink("usr/lib/suid-link", "../bin/suid");
  t.device("dev/null", AE_IFCHR, 1, 3, {0666});
  t.device("dev/loop0", AE_IFBLK, 7, 0, {0660, 0, 6});
  t.fifo("run/fifo", {0600});
  t.file("data/a", "linked twice");
  t.hardlink("data/hard", "data/a");
  t.file("opaque/old1", "lower");
  t.file("opaque/sub/old2", "lower");
  t.file("gone", "hidden by the upper layer");
  t.file("gone-dir/child", "hidden with its folder");
  t.file("keep", "stays");
  t.file("redo", "lower");
}

// The upper layer: whiteouts of both kinds, replacements, metadata changes.
inline void write_upper_layer(const fs::path& path, const std::string& filter = "") {
  tar_writer t(path, filter);
  t.file(".wh.gone", "");
  t.file(".wh.gone-dir", "");
  t.file("opaque/new", "upper");
  t.file("opaque/.wh..wh..opq", "");  // after its sibling: whiteouts hide only lower layers
  t.file("etc/passwd", "root:x:0:0::/root:/bin/sh\nuser:x:1234:5678::/home/user:/bin/sh\n");
  t.dir("home/user/", {0700, 1234, 5678, 1650000000});
  t.file("upper-owned", "x", {0600, 42, 43});
  t.file("redo", "upper");
  t.file(".wh.redo", "");  // the layer's own redo stays
}

// The tree a source reference (as --from takes it) reads to.
inline elements::builder::node_ptr read_tree(const std::string& from, const fs::path& base) {
  using namespace elements::builder;
  return open_source(parse_source_ref(from, base, "--from"), {})->read_tree();
}

// The message and status a source gives when it refuses; empty and 0 when
// it does not.
inline std::pair<std::string, int> refusal(const std::function<void()>& f) {
  try {
    f();
  } catch (const elements::error& e) {
    return {e.what(), e.status()};
  }
  return {"", 0};
}

inline std::string contents(const elements::builder::node_ptr& n) {
  std::string out;
  n->content->read([&](std::span<const unsigned char> b) { out.append(b.begin(), b.end()); });
  return out;
}

inline elements::builder::node_ptr at(const elements::builder::node_ptr& root,
                                      const std::string& path) {
  auto found = elements::builder::locate(root, path);
  return found ? found->entry : nullptr;
}

// The tree both layers make, checked entry by entry.
inline void check_layered_tree(const elements::builder::node_ptr& root) {
  using elements::builder::node_ptr;
  CHECK(root->mode == (S_IFDIR | 0755));
  CHECK(root->mtime == 1400000000);
  CHECK(root->entries.size() == 10);  // etc home usr dev run data opaque keep upper-owned redo

  CHECK_FALSE(at(root, "/gone"));
  CHECK_FALSE(at(root, "/gone-dir"));
  REQUIRE(at(root, "/opaque"));
  CHECK(at(root, "/opaque")->entries.size() == 1);
  REQUIRE(at(root, "/opaque/new"));
  CHECK(contents(at(root, "/opaque/new")) == "upper");
  CHECK(contents(at(root, "/redo")) == "upper");
  CHECK(contents(at(root, "/keep")) == "stays");
  CHECK(contents(at(root, "/etc/passwd")).find("user:x:1234") != std::string::npos);

  node_ptr home = at(root, "/home/user");
  REQUIRE(home);
  CHECK(home->mode == (S_IFDIR | 0700));
  CHECK(home->uid == 1234);
  CHECK(home->gid == 5678);
  CHECK(home->mtime == 1650000000);
  node_ptr notes = at(root, "/home/user/notes");
  REQUIRE(notes);  // a folder entry over a folder keeps its contents
  CHECK(notes->mode == (S_IFREG | 0640));
  CHECK(notes->uid == 1234);
  CHECK(notes->gid == 5678);
  CHECK(notes->mtime == 1600000000);
  CHECK(contents(notes) == "mine\n");

  CHECK(at(root, "/usr/bin/suid")->mode == (S_IFREG | 04755));
  node_ptr ping = at(root, "/usr/bin/ping");
  CHECK(ping->xattrs ==
        std::map<std::string, std::string>{{"security.capability", net_raw_capability},
                                           {"user.comment", "hello"}});
  node_ptr link = at(root, "/usr/lib/suid-link");
  CHECK(link->mode == (S_IFLNK | 0777));
  CHECK(link->link_target == "../bin/suid");

  node_ptr null = at(root, "/dev/null");
  CHECK(null->mode == (S_IFCHR | 0666));
  CHECK(null->rdev == makedev(1, 3));
  node_ptr loop = at(root, "/dev/loop0");
  CHECK(loop->mode == (S_IFBLK | 0660));
  CHECK(loop->rdev == makedev(7, 0));
  CHECK(loop->gid == 6);
  CHECK(at(root, "/run/fifo")->mode == (S_IFIFO | 0600));
  CHECK(at(root, "/data/a") == at(root, "/data/hard"));
  CHECK(contents(at(root, "/data/hard")) == "linked twice");
  node_ptr owned = at(root, "/upper-owned");
  CHECK(owned->uid == 42);
  CHECK(owned->gid == 43);
  // Folders the layers only imply are made as root's, 0755.
  CHECK(at(root, "/usr")->mode == (S_IFDIR | 0755));
}

// What `unsquashfs -lln` and `rdsquashfs -x` say about an image of that tree.
inline void check_layered_image(const fs::path& image) {
  auto r = run("unsquashfs -lln " + quote(image));
  REQUIRE(r.status == 0);
  const std::string& l = r.output;
  auto has = [&](const std::string& line_start, const std::string& path) {
    INFO(line_start << " ... " << path << "\n" << l);
    const auto at_path = l.find(" squashfs-root" + path + "\n");
    const auto at_link = l.find(" squashfs-root" + path + " -> ");
    const auto pos = at_path != std::string::npos ? at_path : at_link;
    REQUIRE(pos != std::string::npos);
    const auto line = l.substr(l.rfind('\n', pos) + 1, pos - l.rfind('\n', pos) - 1);
    CHECK(line.starts_with(line_start));
  };
  has("drwx------ 1234/5678", "/home/user");
  has("-rw-r----- 1234/5678", "/home/user/notes");
  has("-rwsr-xr-x 0/0", "/usr/bin/suid");
  has("crw-rw-rw- 0/0", "/dev/null");
  has("brw-rw---- 0/6", "/dev/loop0");
  has("prw------- 0/0", "/run/fifo");
  has("lrwxrwxrwx 0/0", "/usr/lib/suid-link");
  has("-rw------- 42/43", "/upper-owned");
  CHECK(l.find("squashfs-root/gone") == std::string::npos);
  CHECK(l.find("squashfs-root/opaque/old1") == std::string::npos);
  CHECK(l.find("squashfs-root/opaque/sub") == std::string::npos);
  CHECK(l.find("/dev/null") != std::string::npos);
  CHECK(std::regex_search(l, std::regex(" 1, +3 [^\n]* squashfs-root/dev/null\n")));
  CHECK(std::regex_search(l, std::regex(" 7, +0 [^\n]* squashfs-root/dev/loop0\n")));

  if (run("command -v rdsquashfs").status != 0) {
    WARN("SKIPPED xattr listing: rdsquashfs (squashfs-tools-ng) is not installed");
    return;
  }
  auto x = run("rdsquashfs -x /usr/bin/ping " + quote(image));
  REQUIRE(x.status == 0);
  CHECK(x.output.find("user.comment=hello") != std::string::npos);
  CHECK(x.output.find("security.capability=") != std::string::npos);
  auto h = run("rdsquashfs -s /data/hard " + quote(image));
  CHECK(h.output.find("Hard link count: 2\n") != std::string::npos);
}

inline std::string sha256_of(const std::string& bytes) {
  elements::builder::sha256_hasher h;
  h.update({reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()});
  return h.digest();
}

inline std::string hex_of(const std::string& digest) {
  return digest.substr(7);
}

}  // namespace builder_test
