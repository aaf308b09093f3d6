#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>
#include <string>

#include "builder/sources/layers.hpp"
#include "builder/sources/source.hpp"
#include "builder/squashfs/squashfs_writer.hpp"
#include "elements/error.hpp"
#include "elements/unique_fd.hpp"
#include "source_test_support.hpp"

using namespace elements;
using namespace elements::builder;
using namespace builder_test;

namespace {

layer_input input(const fs::path& tar, std::optional<std::string> digest = std::nullopt) {
  layer_input l;
  l.fd.reset(::open(tar.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(l.fd);
  l.name = "layer " + digest.value_or(tar.filename().native());
  l.digest = std::move(digest);
  return l;
}

// The message a refused layer gives, or "" when it was taken.
std::string refusal(layer_stack& stack, const fs::path& tar,
                    std::optional<std::string> digest = std::nullopt) {
  try {
    stack.apply(input(tar, std::move(digest)));
  } catch (const error& e) {
    CHECK(e.status() == exit_build_failed);
    return e.what();
  }
  return "";
}

fs::path pack(const temp_dir& dir, const node_ptr& root) {
  const auto image = dir / "image.sqfs";
  unique_fd fd(::open(image.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  REQUIRE(fd);
  write_squashfs(fd.get(), 0, root, {});
  return image;
}

}  // namespace

TEST_CASE("layers keep owners, modes, devices, links and xattrs, and apply whiteouts", "[unit]") {
  temp_dir dir;
  write_base_layer(dir / "base.tar");
  write_upper_layer(dir / "upper.tar", "gzip");
  layer_stack stack({0, 0, 1700000000});
  stack.apply(input(dir / "base.tar", sha256_of(read_file(dir / "base.tar"))));
  stack.apply(input(dir / "upper.tar", sha256_of(read_file(dir / "upper.tar"))));
  check_layered_tree(stack.root());
  CHECK(stack.warnings().empty());

  if (!have_unsquashfs()) {
    WARN("SKIPPED image listing: unsquashfs (squashfs-tools) is not installed");
    return;
  }
  check_layered_image(pack(dir, stack.root()));
}

TEST_CASE("a layer that reaches outside the root is refused with its path", "[unit]") {
  temp_dir dir;
  struct hostile {
    const char* what;
    std::function<void(tar_writer&)> write;
    const char* message;
  };
  const hostile cases[] = {
      {"dot-dot", [](tar_writer& t) { t.file("../escape", "x"); },
       "\"../escape\" leaves its folder with \"..\", outside the root; the layer is refused"},
      {"deep dot-dot", [](tar_writer& t) { t.file("a/b/../../../escape", "x"); },
       "\"a/b/../../../escape\" leaves its folder with \"..\""},
      {"absolute", [](tar_writer& t) { t.file("/etc/shadow", "x"); },
       "\"/etc/shadow\" is an absolute path, outside the root; the layer is refused"},
      {"absolute after ./", [](tar_writer& t) { t.file(".//etc/shadow", "x"); },
       "\".//etc/shadow\" is an absolute path"},
      {"symlink escape",
       [](tar_writer& t) {
         t.symlink("link", "/etc");
         t.file("link/passwd", "root::0:0::/:/bin/sh\n");
       },
       "\"link/passwd\" goes through the symlink /link (-> /etc), which could lead outside the "
       "root; the layer is refused"},
      {"relative symlink escape",
       [](tar_writer& t) {
         t.symlink("up", "../../..");
         t.file("up/x", "x");
       },
       "\"up/x\" goes through the symlink /up (-> ../../..)"},
      {"hard link through a symlink",
       [](tar_writer& t) {
         t.symlink("link", "/etc");
         t.hardlink("stolen", "link/shadow");
       },
       "\"stolen\" (a hard link to \"link/shadow\") goes through the symlink /link"},
      {"hard link out", [](tar_writer& t) { t.hardlink("stolen", "../etc/shadow"); },
       "\"../etc/shadow\" leaves its folder with \"..\""},
      {"hard link to nothing", [](tar_writer& t) { t.hardlink("dangling", "not/there"); },
       "\"dangling\" (a hard link to \"not/there\") links to a path that is not in the rootfs "
       "yet; the layer is damaged"},
      {"hard link to a folder",
       [](tar_writer& t) {
         t.dir("d/");
         t.hardlink("x", "d");
       },
       "\"x\" (a hard link to \"d\") links to a folder; the layer is damaged"},
      {"hard link over the root",
       [](tar_writer& t) {
         t.file("f", "x");
         t.hardlink("./", "f");
       },
       "\"./\" would replace the root folder; the layer is refused"},
      {"file over the root", [](tar_writer& t) { t.file(".", "x"); },
       "\".\" would replace the root folder; the layer is refused"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    {
      tar_writer t(dir / "evil.tar");
      c.write(t);
    }
    layer_stack stack({});
    const auto digest = sha256_of(read_file(dir / "evil.tar"));
    const std::string got = refusal(stack, dir / "evil.tar", digest);
    CHECK(got.starts_with("layer " + digest + ": "));
    CHECK(got.find(c.message) != std::string::npos);
  }
}

TEST_CASE("a symlink from a lower layer cannot carry a later layer's entries", "[unit]") {
  temp_dir dir;
  {
    tar_writer t(dir / "lower.tar");
    t.symlink("link", "/etc");
    t.dir("etc/");
    t.file("etc/passwd", "kept");
  }
  {
    tar_writer t(dir / "write.tar");
    t.file("link/passwd", "replaced");
  }
  {
    tar_writer t(dir / "hide.tar");
    t.file("link/.wh.passwd", "");
  }
  {
    tar_writer t(dir / "hide-all.tar");
    t.file("link/.wh..wh..opq", "");
  }
  for (const char* upper : {"write.tar", "hide.tar", "hide-all.tar"}) {
    INFO(upper);
    layer_stack stack({});
    stack.apply(input(dir / "lower.tar"));
    CHECK(refusal(stack, dir / upper).find("goes through the symlink /link (-> /etc)") !=
          std::string::npos);
    CHECK(contents(at(stack.root(), "/etc/passwd")) == "kept");
  }
}

TEST_CASE("a layer whose bytes do not match its digest is refused before it is read", "[unit]") {
  temp_dir dir;
  write_base_layer(dir / "base.tar.gz", "gzip");
  const std::string bytes = read_file(dir / "base.tar.gz");
  const std::string digest = sha256_of(bytes);
  const std::string other = sha256_of("something else");

  layer_stack stack({});
  const std::string wrong = refusal(stack, dir / "base.tar.gz", other);
  CHECK(wrong == "layer " + other + ": the blob's bytes hash to " + digest +
                     ", not to the digest that names them: the image is damaged or was altered "
                     "(fetch or save it again)");
  CHECK(stack.root()->entries.empty());

  // Damaged compressed data: the digest is what is reported when it is wrong,
  // the decompressor's complaint when the digest matches the damage.
  std::string damaged = bytes;
  damaged[damaged.size() / 2] ^= 0x55;
  write_file(dir / "damaged.tar.gz", damaged);
  CHECK(refusal(stack, dir / "damaged.tar.gz", digest).find("hash to " + sha256_of(damaged)) !=
        std::string::npos);
  const std::string garbled = refusal(stack, dir / "damaged.tar.gz", sha256_of(damaged));
  CHECK(garbled.starts_with("layer " + sha256_of(damaged) + ": "));
  CHECK(garbled.find("hash to") == std::string::npos);
  write_file(dir / "junk", "not an archive at all");
  CHECK(
      refusal(stack, dir / "junk", digest).find("hash to " + sha256_of("not an archive at all")) !=
      std::string::npos);

  layer_input sized = input(dir / "base.tar.gz", digest);
  sized.size = bytes.size() + 1;
  CHECK_THROWS_WITH(stack.apply(sized),
                    Catch::Contains("the blob is " + std::to_string(bytes.size()) +
                                    " bytes, its descriptor says"));
  CHECK(refusal(stack, dir / "base.tar.gz", digest).empty());
  CHECK(at(stack.root(), "/usr/bin/suid"));
}

TEST_CASE("xattrs squashfs cannot store are left out with a warning", "[unit]") {
  temp_dir dir;
  {
    tar_writer t(dir / "x.tar");
    t.file("f", "x",
           {0644,
            0,
            0,
            0,
            {{"trusted.overlay.opaque", "y"},
             {"security.selinux", "system_u:object_r:bin_t:s0"},
             {"user.kept", "1"}}});
  }
  layer_stack stack({});
  stack.apply(input(dir / "x.tar"));
  CHECK(at(stack.root(), "/f")->xattrs == std::map<std::string, std::string>{{"user.kept", "1"}});
  REQUIRE(stack.warnings().size() == 1);
  CHECK(stack.warnings()[0] ==
        "layer x.tar: left out 1 xattr(s) squashfs cannot store or the container cannot use, "
        "such as trusted.overlay.opaque on /f");
}

TEST_CASE("tar: reads plain, gzip, zstd and xz tarballs, whose .wh. names are files", "[unit]") {
  temp_dir dir;
  for (const std::string filter : {"", "gzip", "zstd", "xz"}) {
    INFO(filter);
    const std::string name = "rootfs.tar" + (filter.empty() ? "" : "." + filter);
    {
      tar_writer t(dir / name, filter);
      t.file("bin/tool", "tool", {0755, 1234, 5678});
      t.file(".wh.not-a-whiteout", "a file like any other");
      t.device("dev/zero", AE_IFCHR, 1, 5, {0666});
    }
    const auto ref = parse_source_ref("tar:" + name, dir.path(), "--from");
    CHECK(ref.kind == source_kind::tar);
    auto src = open_source(ref, {});
    const node_ptr root = src->read_tree();
    CHECK(contents(at(root, "/bin/tool")) == "tool");
    CHECK(at(root, "/bin/tool")->uid == 1234);
    CHECK(contents(at(root, "/.wh.not-a-whiteout")) == "a file like any other");
    CHECK(at(root, "/dev/zero")->rdev == makedev(1, 5));
  }
  CHECK_THROWS_WITH(parse_source_ref("tar:missing.tar", dir.path(), "--from"),
                    "--from: " + (dir / "missing.tar").native() +
                        " is not a file (tar: needs a tar archive, plain or compressed with "
                        "gzip, zstd or xz)");
  write_file(dir / "bad.tar", "this is no tarball");
  try {
    open_source(parse_source_ref("tar:bad.tar", dir.path(), "--from"), {})->read_tree();
    FAIL("a file that is no tarball was read");
  } catch (const error& e) {
    CHECK(e.status() == exit_build_failed);
    CHECK(std::string(e.what()).starts_with("tar:bad.tar: "));
  }
}

TEST_CASE("layer file contents wait in one temporary file, read back on demand", "[unit]") {
  temp_dir dir;
  const std::string big(3 * 1024 * 1024 + 17, 'z');
  {
    tar_writer t(dir / "big.tar", "zstd");
    t.file("big", big);
    t.file("empty", "");
    t.file("small", "s");
  }
  layer_stack stack({});
  stack.apply(input(dir / "big.tar"));
  CHECK(contents(at(stack.root(), "/big")) == big);
  CHECK(contents(at(stack.root(), "/empty")).empty());
  CHECK(contents(at(stack.root(), "/small")) == "s");
  CHECK(at(stack.root(), "/big")->content->describe() == "layer big.tar: /big");
}

TEST_CASE("an uncompressed tarball's file bytes are read from it in place, when written",
          "[unit]") {
  temp_dir dir;
  const std::string big(3 * 1024 * 1024 + 17, 'z');
  // Files of many sizes and long names (pax headers), so that headers and
  // data fall everywhere across the reader's 1 MiB buffers.
  std::vector<std::pair<std::string, std::string>> files;
  for (int i = 0; i < 400; ++i)
    files.emplace_back(
        "d" + std::to_string(i % 7) + "/" + std::string(90 + i % 60, 'n') + std::to_string(i),
        std::string(static_cast<std::size_t>((i * 7919) % 20000), 'a' + i % 26));
  for (const std::string filter : {"", "gzip"}) {
    INFO(filter);
    const fs::path tar = dir / ("rootfs.tar" + (filter.empty() ? "" : "." + filter));
    {
      tar_writer t(tar, filter);
      t.file("big", big);
      for (const auto& [name, bytes] : files) t.file(name, bytes);
      t.file("empty", "");
      t.file("marker", "MARKER-ORIGINAL");
    }
    auto src =
        open_source(parse_source_ref("tar:" + tar.filename().native(), dir.path(), "--from"), {});
    const node_ptr root = src->read_tree();
    CHECK(contents(at(root, "/big")) == big);
    for (const auto& [name, bytes] : files) CHECK(contents(at(root, "/" + name)) == bytes);
    CHECK(contents(at(root, "/empty")).empty());

    // The bytes of a plain tarball are read when the image is written: a
    // change to the tarball since shows; a compressed one was copied.
    std::string whole = read_file(tar);
    if (const auto at_marker = whole.find("MARKER-ORIGINAL"); at_marker != std::string::npos) {
      REQUIRE(filter.empty());
      whole.replace(at_marker, 15, "MARKER-CHANGED!");
      write_file(tar, whole);
      CHECK(contents(at(root, "/marker")) == "MARKER-CHANGED!");
      // Cut since: the file says so rather than storing too few bytes.
      REQUIRE(::truncate(tar.c_str(), static_cast<off_t>(at_marker + 3)) == 0);
      try {
        contents(at(root, "/marker"));
        FAIL("a cut tarball was read");
      } catch (const error& e) {
        CHECK(std::string(e.what()) ==
              "tar:rootfs.tar: /marker: tar:rootfs.tar was cut short "
              "while the image was written");
      }
    } else {
      CHECK(!filter.empty());
      CHECK(contents(at(root, "/marker")) == "MARKER-ORIGINAL");
    }
  }
}
