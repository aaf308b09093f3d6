#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <random>
#include <sstream>
#include <string>

#include "builder/sources/host_tree.hpp"
#include "builder/squashfs/squashfs_writer.hpp"
#include "elements/error.hpp"
#include "elements/unique_fd.hpp"
#include "test_support.hpp"

using namespace elements;
using namespace elements::builder;
using namespace builder_test;

namespace {

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen() & 0xFF);
  return s;
}

// What the fixture could make on this machine.
struct fixture_features {
  bool root = false;
  bool xattrs = false;
};

// A rootfs on disk with one of everything squashfs stores.
fixture_features make_fixture(const fs::path& r) {
  fixture_features f;
  f.root = ::geteuid() == 0;
  write_file(r / "bin/app", "#!/bin/sh\necho hi\n", 0755);
  write_file(r / "bin/suid", "setuid program", 04755);
  write_file(r / "etc/big", random_bytes(300 * 1024, 1));  // two blocks and a fragment
  write_file(r / "etc/big-copy", random_bytes(300 * 1024, 1));
  write_file(r / "etc/empty", "");
  write_file(r / "etc/hard1", "linked twice");
  REQUIRE(::link((r / "etc/hard1").c_str(), (r / "etc/hard2").c_str()) == 0);
  REQUIRE(::symlink("../bin/app", (r / "etc/link").c_str()) == 0);
  write_file(r / "var/sparse", std::string(256 * 1024, '\0'));
  fs::create_directories(r / "tmp");
  REQUIRE(::chmod((r / "tmp").c_str(), 01777) == 0);
  fs::create_directories(r / "run");
  REQUIRE(::mkfifo((r / "run/fifo").c_str(), 0600) == 0);
  {
    unique_fd s(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const auto path = (r / "run/sock").native();
    REQUIRE(path.size() < sizeof addr.sun_path);
    std::strcpy(addr.sun_path, path.c_str());
    REQUIRE(::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  const timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
  REQUIRE(::utimensat(AT_FDCWD, (r / "bin/app").c_str(), old, 0) == 0);
  f.xattrs = ::setxattr((r / "etc/hard1").c_str(), "user.comment", "hello", 5, 0) == 0;
  if (f.root) {
    write_file(r / "etc/owned", "someone else's", 0600);
    REQUIRE(::chown((r / "etc/owned").c_str(), 1234, 5678) == 0);
    fs::create_directories(r / "dev");
    REQUIRE(::mknod((r / "dev/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
    REQUIRE(::chmod((r / "dev/null").c_str(), 0666) == 0);  // past the umask
    REQUIRE(::mknod((r / "dev/big-minor").c_str(), S_IFBLK | 0660, makedev(259, 300000)) == 0);
  }
  return f;
}

fs::path pack(const temp_dir& dir, const node_ptr& root, const squashfs_options& options,
              const std::string& name = "image.sqfs", std::uint64_t offset = 0) {
  const auto image = dir / name;
  unique_fd fd(::open(image.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  REQUIRE(fd);
  const auto result = write_squashfs(fd.get(), offset, root, options);
  CHECK(result.size % 4096 == 0);
  struct stat st {};
  REQUIRE(::fstat(fd.get(), &st) == 0);
  CHECK(static_cast<std::uint64_t>(st.st_size) == offset + result.size);
  return image;
}

// unsquashfs -lln, as path -> "MODE UID/GID" (size and time left out).
std::map<std::string, std::string> listing(const fs::path& image, std::uint64_t offset = 0) {
  auto r = run("unsquashfs -lln -o " + std::to_string(offset) + " " + quote(image));
  REQUIRE(r.status == 0);
  std::map<std::string, std::string> out;
  std::istringstream in(r.output);
  std::string line;
  while (std::getline(in, line)) {
    // Devices print "MAJOR, MINOR" as the size, so the path is found by name.
    const auto at = line.find(" squashfs-root");
    if (at == std::string::npos) continue;
    std::istringstream words(line);
    std::string mode, owner;
    words >> mode >> owner;
    std::string path = line.substr(at + std::strlen(" squashfs-root"));
    std::string rest;
    if (auto arrow = path.find(" -> "); arrow != std::string::npos) {
      rest = path.substr(arrow);
      path.resize(arrow);
    }
    out[path] = mode + " " + owner + rest;
  }
  return out;
}

struct stat lstat_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st;
}

}  // namespace

TEST_CASE("a host tree is stored with contents, modes, owners, links and devices", "[unit]") {
  if (!have_unsquashfs()) {
    WARN("SKIPPED: unsquashfs (squashfs-tools) is not installed");
    return;
  }
  temp_dir dir;
  const auto features = make_fixture(dir / "root");
  host_read_options options;
  options.owners = owner_map::for_caller();
  node_ptr root = read_host_tree(dir / "root", options);
  const auto image = pack(dir, root, {});

  auto l = listing(image);
  CHECK(l["/bin/app"] == "-rwxr-xr-x 0/0");
  CHECK(l["/bin/suid"] == "-rwsr-xr-x 0/0");
  CHECK(l["/etc/link"] == "lrwxrwxrwx 0/0 -> ../bin/app");
  CHECK(l["/tmp"] == "drwxrwxrwt 0/0");
  CHECK(l["/run/fifo"] == "prw------- 0/0");
  CHECK(l["/run/sock"].starts_with("s"));

  const auto out = dir / "out";
  auto extracted = run("unsquashfs -d " + quote(out) + " " + quote(image));
  REQUIRE(extracted.status == 0);
  for (const char* f :
       {"bin/app", "bin/suid", "etc/big", "etc/big-copy", "etc/empty", "etc/hard1", "var/sparse"})
    CHECK(read_file(out / f) == read_file(dir / "root" / f));
  CHECK(fs::read_symlink(out / "etc/link") == "../bin/app");
  CHECK(lstat_of(out / "bin/app").st_mtim.tv_sec == 1000000000);
  CHECK(S_ISFIFO(lstat_of(out / "run/fifo").st_mode));
  const auto h1 = lstat_of(out / "etc/hard1"), h2 = lstat_of(out / "etc/hard2");
  CHECK(h1.st_ino == h2.st_ino);
  CHECK(h1.st_nlink == 2);

  if (features.xattrs) {
    char value[16] = {};
    CHECK(::lgetxattr((out / "etc/hard1").c_str(), "user.comment", value, sizeof value) == 5);
    CHECK(std::string(value) == "hello");
  } else {
    WARN("SKIPPED xattr check: the temp folder's filesystem refuses user.* xattrs");
  }
  if (features.root) {
    // unsquashfs drops setuid bits when it does not run as root.
    CHECK((lstat_of(out / "bin/suid").st_mode & 07777) == 04755);
    CHECK(l["/etc/owned"] == "-rw------- 1234/5678");
    CHECK(l["/dev/null"].starts_with("crw-rw-rw- 0/0"));
    const auto owned = lstat_of(out / "etc/owned");
    CHECK(owned.st_uid == 1234);
    CHECK(owned.st_gid == 5678);
    const auto null = lstat_of(out / "dev/null");
    CHECK(S_ISCHR(null.st_mode));
    CHECK(null.st_rdev == makedev(1, 3));
    const auto blk = lstat_of(out / "dev/big-minor");
    CHECK(S_ISBLK(blk.st_mode));
    CHECK(blk.st_rdev == makedev(259, 300000));
  } else {
    WARN("SKIPPED owner, device and extracted setuid checks: they need root");
  }
}

TEST_CASE("the same tree gives the same bytes, whatever the worker count", "[unit]") {
  temp_dir dir;
  make_fixture(dir / "root");
  node_ptr root = read_host_tree(dir / "root", {});
  squashfs_options one;
  one.workers = 1;
  squashfs_options many;
  many.workers = 4;
  const auto a = read_file(pack(dir, root, one, "a.sqfs"));
  const auto b = read_file(pack(dir, root, many, "b.sqfs"));
  const auto c = read_file(pack(dir, read_host_tree(dir / "root", {}), {}, "c.sqfs"));
  CHECK(a.size() > 300 * 1024);
  CHECK(a == b);
  CHECK(a == c);
}

TEST_CASE("handing the image to the disk while it is written changes none of its bytes", "[unit]") {
  temp_dir dir;
  // Incompressible, so the image passes the 12 MiB after which write-back
  // starts, with duplicate blocks the block writer cuts off the end again.
  for (int i = 0; i < 6; ++i)
    write_file(dir / "root" / ("f" + std::to_string(i)), random_bytes(3 * 1024 * 1024, i % 4));
  const node_ptr root = read_host_tree(dir / "root", {});
  squashfs_options plain;
  squashfs_options behind;
  behind.write_behind = true;
  const auto a = read_file(pack(dir, root, plain, "a.sqfs"));
  const auto b = read_file(pack(dir, root, behind, "b.sqfs"));
  CHECK(a.size() > 12 * 1024 * 1024);
  CHECK(a == b);
}

TEST_CASE("SOURCE_DATE_EPOCH clamps every mtime and sets the image time", "[unit]") {
  if (!have_unsquashfs()) {
    WARN("SKIPPED: unsquashfs (squashfs-tools) is not installed");
    return;
  }
  temp_dir dir;
  write_file(dir / "root/new", "fresh");
  write_file(dir / "root/old", "old");
  const timespec old[2] = {{500, 0}, {500, 0}};
  REQUIRE(::utimensat(AT_FDCWD, (dir / "root/old").c_str(), old, 0) == 0);
  squashfs_options options;
  options.clamp_mtime = 1000;
  options.mkfs_time = 1000;
  const auto image = pack(dir, read_host_tree(dir / "root", {}), options);

  const auto bytes = read_file(image);
  std::uint32_t mkfs = 0;
  std::memcpy(&mkfs, bytes.data() + 8, 4);  // sqfs_super_t::modification_time
  CHECK(mkfs == 1000);
  REQUIRE(run("unsquashfs -d " + quote(dir / "out") + " " + quote(image)).status == 0);
  CHECK(lstat_of(dir / "out/new").st_mtim.tv_sec == 1000);
  CHECK(lstat_of(dir / "out/old").st_mtim.tv_sec == 500);
  CHECK(lstat_of(dir / "out").st_mtim.tv_sec == 1000);
}

TEST_CASE("every compressor makes an image squashfs-tools reads", "[unit]") {
  if (!have_unsquashfs()) {
    WARN("SKIPPED: unsquashfs (squashfs-tools) is not installed");
    return;
  }
  temp_dir dir;
  write_file(dir / "root/text", std::string(200000, 'a') + random_bytes(1000, 2));
  node_ptr root = read_host_tree(dir / "root", {});
  for (const char* choice : {"zstd", "zstd:3", "xz", "xz:9", "gzip", "gzip:1", "lz4"}) {
    INFO(choice);
    squashfs_options options;
    options.comp = parse_compression(choice);
    const auto image = pack(dir, root, options, std::string(choice) + ".sqfs");
    const std::string name = std::string(choice).substr(0, std::string(choice).find(':'));
    auto stat = run("unsquashfs -s " + quote(image));
    CHECK(stat.status == 0);
    CHECK(stat.output.find("Compression " + name) != std::string::npos);
    CHECK(stat.output.find("Block size 131072") != std::string::npos);
    auto cat = run("unsquashfs -cat " + quote(image) + " text | cmp - " + quote(dir / "root/text"));
    CHECK(cat.status == 0);
  }
}

TEST_CASE("the image can start at an offset, behind other bytes", "[unit]") {
  if (!have_unsquashfs()) {
    WARN("SKIPPED: unsquashfs (squashfs-tools) is not installed");
    return;
  }
  temp_dir dir;
  write_file(dir / "root/hello", "hi\n");
  write_file(dir / "image", std::string(12345, 'x'));
  unique_fd fd(::open((dir / "image").c_str(), O_RDWR | O_CLOEXEC));
  REQUIRE(fd);
  write_squashfs(fd.get(), 12345, read_host_tree(dir / "root", {}), {});
  CHECK(read_file(dir / "image").substr(0, 12345) == std::string(12345, 'x'));
  auto cat = run("unsquashfs -o 12345 -cat " + quote(dir / "image") + " hello");
  CHECK(cat.status == 0);
  CHECK(cat.output == "hi\n");
}

TEST_CASE("trees squashfs cannot hold are refused with the path", "[unit]") {
  temp_dir dir;
  unique_fd fd(::open((dir / "x").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  auto root = make_dir(0755, {});
  auto sub = make_dir(0755, {});
  root->entries["a"] = sub;
  root->entries["b"] = sub;
  CHECK_THROWS_WITH(write_squashfs(fd.get(), 0, root, {}), "/b: a folder cannot be a hard link");

  auto bad = make_dir(0755, {});
  bad->entries["x/y"] = make_file(0644, memory_file("", "x"), {});
  CHECK_THROWS_WITH(write_squashfs(fd.get(), 0, bad, {}), "/: invalid entry name \"x/y\"");

  auto xattr = make_dir(0755, {});
  xattr->xattrs["system.posix_acl_access"] = "x";
  CHECK_THROWS_WITH(write_squashfs(fd.get(), 0, xattr, {}),
                    Catch::StartsWith("/: squashfs cannot store the xattr"));
}

TEST_CASE("a rootless build records the caller's own files as root's", "[unit]") {
  owner_map m{1000, 100};
  CHECK(m.uid(1000) == 0);
  CHECK(m.gid(100) == 0);
  CHECK(m.uid(33) == 33);
  CHECK(m.gid(5) == 5);
  if (::geteuid() == 0)
    CHECK_FALSE(owner_map::for_caller().own_uid);
  else
    CHECK(owner_map::for_caller().own_uid == ::geteuid());
}

TEST_CASE("hard-linked files keep their link count in the image", "[unit]") {
  // Setting "no xattrs" on an extended file inode demoted it to a basic one,
  // which has no link count: the kernel showed nlink 1 for both names.
  if (run("command -v rdsquashfs").status != 0) {
    WARN("SKIPPED: rdsquashfs (squashfs-tools-ng) is not installed");
    return;
  }
  temp_dir dir;
  write_file(dir / "root/a", "x");
  REQUIRE(::link((dir / "root/a").c_str(), (dir / "root/b").c_str()) == 0);
  write_file(dir / "root/c", "y");
  const auto image = pack(dir, read_host_tree(dir / "root", {}), {});
  auto a = run("rdsquashfs -s /a " + quote(image));
  REQUIRE(a.status == 0);
  CHECK(a.output.find("Hard link count: 2\n") != std::string::npos);
  CHECK(a.output.find("Inode type: extended file") != std::string::npos);
  auto c = run("rdsquashfs -s /c " + quote(image));
  CHECK(c.output.find("Inode type: file") != std::string::npos);
  auto root = run("rdsquashfs -s / " + quote(image));
  CHECK(root.output.find("Hard link count: 2\n") != std::string::npos);
}
