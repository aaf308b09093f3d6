// The payload reader: direct reads, extraction, the extract-once cache and
// the kernel / FUSE / fusermount3 mounts, on an image made with mksquashfs
// at test time behind some bytes standing in for the runtime.

#include "runtime/mount/squash_mount.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <stdexcept>

#include "../child_process.hpp"
#include "elements/error.hpp"
#include "runtime/image/sha256.hpp"
#include "runtime/image/squash_image.hpp"
#include "runtime/mount/squash_extract.hpp"

using namespace elements;
using namespace elements::runtime;

namespace {

// The folders as the runtime's main would find them now: the tests change
// the environment between calls.
host_folders process_folders() {
  return folders_of(read_host(nullptr));
}

constexpr std::uint64_t junk_size = 12345;  // not a multiple of anything
constexpr time_t fixed_mtime = 1700000000;
constexpr int many_entries = 500;

std::string run(const std::string& cmd) {
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    ::pclose(p);
  }
  return out;
}

void write_file(const std::string& path, const std::string& data, mode_t mode = 0644) {
  std::ofstream(path, std::ios::binary) << data;
  ::chmod(path.c_str(), mode);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string big_content() {
  std::string s(3 * 1024 * 1024 + 17, '\0');
  std::uint32_t x = 12345;
  // Random-looking first and last MiB around a zero middle: a hole when extracted.
  for (std::size_t i = 0; i < s.size(); ++i) {
    x = x * 1103515245 + 12345;
    if (i < (1 << 20) || i >= (2 << 20)) s[i] = static_cast<char>(x >> 16);
  }
  return s;
}

// Mounts and loop devices as the kernel sees them, to prove nothing is left behind.
std::string mount_table() {
  return read_file("/proc/self/mountinfo");
}
std::string loop_devices() {
  return run("losetup -a 2>/dev/null");
}

// A file made as test_image makes it: junk_size bytes, then the squashfs.
payload_file open_payload(const std::string& path) {
  payload_file f;
  f.fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  f.path = path;
  f.offset = junk_size;
  return f;
}

struct test_image {
  std::string dir;   // holds tree/, image.sqfs, app.AppImage
  std::string path;  // the runtime stand-in with the payload
  std::string spec = "{\"version\": 1, \"name\": \"probe\"}\n";
  std::string big = big_content();
  std::string error;

  test_image() {
    char tmpl[] = "/tmp/elements-squash-test-XXXXXX";
    dir = ::mkdtemp(tmpl);
    ::chmod(dir.c_str(), 0755);  // the fusermount3 test reads it as nobody
    const std::string t = dir + "/tree";
    for (const char* d :
         {"", "/.elements", "/rootfs", "/rootfs/bin", "/rootfs/etc", "/rootfs/empty", "/rootfs/ro",
          "/rootfs/deep", "/rootfs/deep/a", "/rootfs/deep/a/b"})
      ::mkdir((t + d).c_str(), 0755);
    write_file(t + "/AppRun", "#!/bin/sh\necho hi\n", 0755);
    write_file(t + "/.elements/spec.json", spec);
    write_file(t + "/rootfs/bin/tool", "tool\n", 0755);
    write_file(t + "/rootfs/etc/motd", "hello\n");
    write_file(t + "/rootfs/etc/shadow", "secret\n", 0600);
    write_file(t + "/rootfs/big.bin", big);
    write_file(t + "/rootfs/suid", "suid\n", 04755);
    write_file(t + "/rootfs/ro/inside", "inside\n");
    write_file(t + "/rootfs/deep/a/b/leaf.txt", "leaf\n");
    ::symlink("etc/motd", (t + "/rootfs/link").c_str());
    ::symlink("/etc/passwd", (t + "/rootfs/abs-link").c_str());
    ::link((t + "/rootfs/etc/motd").c_str(), (t + "/rootfs/hard").c_str());
    ::mkfifo((t + "/rootfs/fifo").c_str(), 0644);
    // More entries than one READDIR reply holds.
    ::mkdir((t + "/rootfs/many").c_str(), 0755);
    for (int i = 0; i < many_entries; ++i)
      write_file(t + "/rootfs/many/an-entry-with-a-rather-long-name-" + std::to_string(i), "");
    ::chmod((t + "/rootfs/ro").c_str(), 0555);
    run("find " + t + " -exec touch -h -d @" + std::to_string(fixed_mtime) + " {} +");
    const std::string image = dir + "/image.sqfs";
    const std::string out = run("mksquashfs " + t + " " + image +
                                " -comp zstd -all-root -noappend -no-progress -quiet 2>&1");
    struct stat st;
    if (::stat(image.c_str(), &st) != 0) {
      error = "mksquashfs failed: " + out;
      return;
    }
    path = dir + "/app.AppImage";
    std::string junk(junk_size, 'J');
    write_file(path, junk + read_file(image), 0755);
  }
  ~test_image() { run("chmod -R u+rwX " + dir + " 2>/dev/null; rm -rf " + dir); }

  payload_file open() const { return open_payload(path); }
};

const test_image& image() {
  static test_image img;
  if (!img.error.empty()) FAIL(img.error);
  return img;
}

struct temp_dir {
  std::string path;
  temp_dir() {
    char tmpl[] = "/tmp/elements-squash-out-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~temp_dir() { run("chmod -R u+rwX " + path + " 2>/dev/null; rm -rf " + path); }
};

// Runs `body` in a forked child, where namespaces can be changed without
// touching the test process. The child reports a failure or a skip by text.
struct child_result {
  enum { passed, failed, skipped } outcome;
  std::string message;
};
struct skip : std::runtime_error {
  using std::runtime_error::runtime_error;
};
void expect(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

child_result in_child(const std::function<void()>& body) {
  auto child = test_child::run([&](int out) {
    try {
      body();
    } catch (const skip& e) {
      test_child::put(out, e.what());
      return 77;
    } catch (const std::exception& e) {
      test_child::put(out, e.what());
      return 1;
    }
    return 0;
  });
  if (child.status == 0) return {child_result::passed, child.output};
  if (child.status == 77) return {child_result::skipped, child.output};
  if (child.output.empty())
    child.output = "child ended with status " + std::to_string(child.wait_status);
  return {child_result::failed, child.output};
}

void check_outcome(const child_result& r) {
  if (r.outcome == child_result::skipped) {
    WARN("skipped: " << r.message);
    return;
  }
  INFO(r.message);
  CHECK(r.outcome == child_result::passed);
}

void write_proc(const char* path, const std::string& data) {
  int fd = ::open(path, O_WRONLY);
  expect(fd >= 0 && ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()),
         std::string("cannot write ") + path + ": " + std::strerror(errno));
  ::close(fd);
}

// A user namespace mapping the current ids to root, with its own mount namespace.
void enter_user_namespace() {
  const uid_t uid = ::geteuid();
  const gid_t gid = ::getegid();
  if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
    throw skip(std::string("the kernel refuses a user namespace here: ") + std::strerror(errno));
  write_proc("/proc/self/setgroups", "deny");
  write_proc("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1\n");
  write_proc("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1\n");
  expect(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0,
         "cannot make / private");
}

std::set<std::string> list_dir(const std::string& path) {
  std::set<std::string> names;
  if (DIR* d = ::opendir(path.c_str())) {
    while (const dirent* e = ::readdir(d))
      if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) names.insert(e->d_name);
    ::closedir(d);
  }
  return names;
}

// What every way of getting at the payload must show at `root`.
void check_tree(const std::string& root, bool extracted) {
  const test_image& img = image();
  expect(read_file(root + "/.elements/spec.json") == img.spec, "spec.json differs");
  expect(read_file(root + "/rootfs/etc/motd") == "hello\n", "motd differs");
  expect(read_file(root + "/rootfs/big.bin") == img.big, "big.bin differs");
  expect(read_file(root + "/rootfs/deep/a/b/leaf.txt") == "leaf\n", "leaf differs");
  char target[256] = {};
  expect(::readlink((root + "/rootfs/link").c_str(), target, sizeof target - 1) > 0 &&
             std::string(target) == "etc/motd",
         "symlink target differs");
  expect(read_file(root + "/rootfs/link") == "hello\n", "symlink does not resolve");
  struct stat a, b;
  expect(::stat((root + "/rootfs/etc/motd").c_str(), &a) == 0 &&
             ::stat((root + "/rootfs/hard").c_str(), &b) == 0,
         "cannot stat the hard link");
  expect(a.st_ino == b.st_ino && a.st_nlink == 2, "hard link is not one inode with two links");
  expect(a.st_mtime == fixed_mtime, "mtime of motd is " + std::to_string(a.st_mtime));
  expect(::stat((root + "/rootfs/bin/tool").c_str(), &a) == 0 && (a.st_mode & 07777) == 0755,
         "mode of tool");
  expect(::stat((root + "/rootfs/etc/shadow").c_str(), &a) == 0 && (a.st_mode & 07777) == 0600,
         "mode of shadow");
  expect(::stat((root + "/rootfs/ro").c_str(), &a) == 0 && (a.st_mode & 07777) == 0555,
         "mode of ro/");
  expect(::stat((root + "/rootfs/suid").c_str(), &a) == 0 &&
             (a.st_mode & 07777) == (extracted ? 0755 : 04755),
         "mode of suid is " + std::to_string(a.st_mode & 07777));
  expect(::lstat((root + "/rootfs/fifo").c_str(), &a) == 0 && S_ISFIFO(a.st_mode), "fifo");
  expect(list_dir(root + "/rootfs/empty").empty(), "empty/ is not empty");
  const std::set<std::string> top = {"AppRun", ".elements", "rootfs"};
  expect(list_dir(root) == top, "top level differs");
  expect(list_dir(root + "/rootfs") == std::set<std::string>{"abs-link", "big.bin", "bin", "deep",
                                                             "empty", "etc", "fifo", "hard", "link",
                                                             "many", "ro", "suid"},
         "rootfs/ differs");
  expect(list_dir(root + "/rootfs/many").size() == many_entries, "rootfs/many/ lost entries");
}

// stdout of `f`, for the lines --appimage-extract prints.
std::string capture_stdout(const std::function<void()>& f) {
  std::fflush(stdout);
  char tmpl[] = "/tmp/elements-stdout-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  const int saved = ::dup(1);
  ::dup2(fd, 1);
  try {
    f();
  } catch (...) {
    std::fflush(stdout);
    ::dup2(saved, 1);
    ::close(saved);
    throw;
  }
  std::fflush(stdout);
  ::dup2(saved, 1);
  ::close(saved);
  ::close(fd);
  std::string out = read_file(tmpl);
  ::unlink(tmpl);
  return out;
}

struct env_override {
  std::string name;
  std::string old;
  bool had;
  env_override(const char* n, const std::string& value) : name(n) {
    const char* v = std::getenv(n);
    had = v != nullptr;
    if (had) old = v;
    ::setenv(n, value.c_str(), 1);
  }
  ~env_override() {
    if (had)
      ::setenv(name.c_str(), old.c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
};

}  // namespace

TEST_CASE("read_payload_file reads one file without mounting", "[unit]") {
  payload_file f = image().open();
  CHECK(read_payload_file(f, ".elements/spec.json") == image().spec);
  CHECK(read_payload_file(f, "rootfs/big.bin") == image().big);
  try {
    read_payload_file(f, ".elements/missing.json");
    FAIL("no error for a missing file");
  } catch (const error& e) {
    CHECK_THAT(e.what(), Catch::Contains(".elements/missing.json") && Catch::Contains(f.path));
  }
  CHECK_THROWS_WITH(read_payload_file(f, "rootfs/etc"), Catch::Contains("not a regular file"));
}

TEST_CASE("a payload at the wrong offset is named, not misread", "[unit]") {
  payload_file f = image().open();
  f.offset = 100;
  CHECK_THROWS_WITH(read_payload_file(f, ".elements/spec.json"),
                    Catch::Contains("is not a squashfs image") && Catch::Contains("offset 100"));
}

namespace {

squashfs_super_block good_superblock() {
  squashfs_super_block sb{};
  const std::string bytes = read_file(image().path).substr(junk_size, sizeof sb);
  std::memcpy(&sb, bytes.data(), sizeof sb);
  return sb;
}

// A copy of the test image with `bytes` written at `at` of its squashfs.
struct damaged_copy {
  temp_dir dir;
  std::string path = dir.path + "/damaged.AppImage";
  damaged_copy(std::uint64_t at, const std::string& bytes) {
    std::string data = read_file(image().path);
    data.replace(junk_size + at, bytes.size(), bytes);
    write_file(path, data, 0755);
  }
  payload_file open() const { return open_payload(path); }
};

}  // namespace

TEST_CASE("superblock_problem accepts what mksquashfs writes and names each fault", "[unit]") {
  const squashfs_super_block good = good_superblock();
  const std::uint64_t size = good.bytes_used;
  CHECK(superblock_problem(good, size).empty());
  CHECK(superblock_problem(good, size + 4096).empty());
  // A changed field and what the problem says about it.
  const std::vector<std::pair<std::function<void(squashfs_super_block&)>, std::string>> faults = {
      {[](auto& sb) { sb.s_magic = 0x41414141; }, "is not a squashfs image"},
      {[](auto& sb) { sb.s_major = 3; }, "is squashfs 3.0"},
      {[](auto& sb) { sb.s_minor = 1; }, "is squashfs 4.1"},
      // The byte at offset 13 is inside block_size.
      {[](auto& sb) { sb.block_size |= 0x1000; }, "block size of 135168 bytes, not a power of two"},
      {[](auto& sb) { sb.block_size = 2048, sb.block_log = 11; }, "block size of 2048 bytes"},
      {[](auto& sb) { sb.block_size = 2 << 20, sb.block_log = 21; }, "block size of 2097152"},
      {[](auto& sb) { sb.block_log = 16; }, "but a block_log of 16"},
      {[](auto& sb) { sb.block_log = 40; }, "but a block_log of 40"},
      {[](auto& sb) { sb.compression = 9; }, "unknown method (9)"},
      {[](auto& sb) { sb.inodes = 0; }, "has no inodes"},
      {[](auto& sb) { sb.no_ids = 0; }, "has no owner ids"},
      {[](auto& sb) { sb.bytes_used += 1; }, "bytes long, but the file holds"},
      {[](auto& sb) { sb.bytes_used = 10; }, "says it is 10 bytes long"},
      {[](auto& sb) { sb.inode_table_start = sb.directory_table_start; }, "not in order"},
      {[](auto& sb) { sb.inode_table_start = 0; }, "has its inode table at 0"},
      {[](auto& sb) { sb.directory_table_start = sb.bytes_used; }, "not in order"},
      {[](auto& sb) { sb.id_table_start = ~0ull; }, "id table at 0xffffffffffffffff"},
      {[](auto& sb) { sb.id_table_start = sb.bytes_used - 4; }, "id table at"},
      {[](auto& sb) { sb.fragment_table_start = sb.inode_table_start; }, "fragment table at"},
      {[](auto& sb) { sb.fragments = 1u << 30; }, "fragment table at"},
      {[](auto& sb) { sb.lookup_table_start = sb.bytes_used; }, "export table at"},
      {[](auto& sb) { sb.xattr_id_table_start = sb.bytes_used - 8; }, "xattr id table at"},
      {[](auto& sb) { sb.root_inode = (sb.directory_table_start - sb.inode_table_start) << 16; },
       "root inode at"},
      {[](auto& sb) { sb.root_inode |= 0xffff; }, "root inode at"},
  };
  for (const auto& [change, says] : faults) {
    squashfs_super_block sb = good;
    change(sb);
    INFO(says);
    CHECK_THAT(superblock_problem(sb, size), Catch::Contains(says));
  }
  // Absent optional tables are fine.
  squashfs_super_block sb = good;
  sb.lookup_table_start = sb.xattr_id_table_start = ~0ull;
  CHECK(superblock_problem(sb, size).empty());
}

TEST_CASE("a damaged superblock is refused before any reader sees it", "[unit]") {
  // 132 KiB for 128 KiB: libsquashfuse read files with it as given, copying
  // from past the end of a block.
  const damaged_copy copy(13, std::string(1, '\x10'));
  auto refused = [&](const std::function<void()>& use) {
    try {
      use();
      FAIL("the damaged superblock was accepted");
    } catch (const error& e) {
      CHECK(e.status() == exit_start_failed);
      CHECK_THAT(e.what(), Catch::Contains(copy.path) &&
                               Catch::Contains("block size of 135168 bytes") &&
                               Catch::Contains("(hint: "));
    }
  };
  refused([&] { check_superblock(copy.open().fd.get(), copy.path, junk_size); });
  refused([&] { read_payload_file(copy.open(), ".elements/spec.json"); });
  temp_dir out;
  refused([&] { extract_to(copy.open(), out.path + "/x", "", false); });
  // The kernel is never handed it: refused before a loop device is taken.
  const std::string loops = loop_devices();
  refused([&] { mount_kernel(copy.open(), out.path); });
  CHECK(loop_devices() == loops);
  // The file is cut inside the superblock.
  damaged_copy cut(0, "");
  ::truncate(cut.path.c_str(), static_cast<off_t>(junk_size + 50));
  CHECK_THROWS_WITH(check_superblock(cut.open().fd.get(), cut.path, junk_size),
                    Catch::Contains("is not a squashfs image") && Catch::Contains("50 bytes"));
}

TEST_CASE("a damaged inode table is refused or read, never misread", "[unit]") {
  // 8 bytes at every fourth offset of the inode table's first KiB
  // (compressed: the inodes become what the damage decompresses to). The
  // library copied names of any stated length into a 257-byte buffer and
  // read past metadata blocks; the sanitizer build runs this too.
  const squashfs_super_block sb = good_superblock();
  const std::uint64_t table = sb.directory_table_start - sb.inode_table_start;
  int refused = 0;
  for (std::uint64_t at = 2; at < std::min<std::uint64_t>(table, 1026); at += 4) {
    const damaged_copy copy(sb.inode_table_start + at, "AAAAAAAA");
    try {
      read_payload_file(copy.open(), ".elements/spec.json");
      squash_image img(copy.open());
      squash_reader& r = img.reader();
      sqfs_inode in = img.root();
      bool found = false;
      if (r.lookup_path(in, "rootfs/big.bin", found) == SQFS_OK && found) {
        std::string buf(1 << 20, '\0');
        std::size_t n = buf.size();
        (void)r.read(in, 1 << 20, buf.data(), n);
        CHECK(n <= buf.size());
      }
    } catch (const error& e) {
      ++refused;
      CHECK(e.status() == exit_start_failed);
      CHECK_THAT(e.what(), Catch::Contains(copy.path) && Catch::Contains("(hint: "));
    }
  }
  CHECK(refused > 0);
}

TEST_CASE("extraction stops at a directory or file the image lists twice", "[unit]") {
  // Uncompressed tables, so that a directory entry can be pointed at
  // another entry's inode in place: a loop, or a file copied once per entry.
  temp_dir work;
  const std::string t = work.path + "/tree";
  for (const char* d : {"", "/.elements", "/rootfs", "/rootfs/a", "/rootfs/b"})
    ::mkdir((t + d).c_str(), 0755);
  write_file(t + "/.elements/spec.json", "{}\n");
  write_file(t + "/rootfs/f", "f\n");
  write_file(t + "/rootfs/g", "g\n");
  const std::string image_path = work.path + "/image.sqfs";
  run("mksquashfs " + t + " " + image_path + " -noI -noD -noF -all-root -noappend -quiet 2>&1");
  const std::string good = read_file(image_path);
  REQUIRE(good.size() > sizeof(squashfs_super_block));
  squashfs_super_block sb{};
  std::memcpy(&sb, good.data(), sizeof sb);
  // A directory entry: inode offset, inode number delta, type, name size - 1, name.
  auto entry_of = [&](const std::string& image, char name) {
    for (std::size_t at = sb.directory_table_start; at + 9 <= sb.fragment_table_start; ++at)
      if (image[at + 8] == name && image[at + 6] == 0 && image[at + 7] == 0 &&
          (image[at + 4] == SQUASHFS_DIR_TYPE || image[at + 4] == SQUASHFS_REG_TYPE))
        return at;
    return std::string::npos;
  };
  auto point = [&](char from, char to) {
    std::string image = good;
    const auto src = entry_of(image, from), dst = entry_of(image, to);
    REQUIRE(src != std::string::npos);
    REQUIRE(dst != std::string::npos);
    image.replace(src, 2, image.substr(dst, 2));
    image[src + 4] = image[dst + 4];
    const std::string path = work.path + "/" + from + ".AppImage";
    write_file(path, std::string(junk_size, 'J') + image);
    return open_payload(path);
  };
  temp_dir out;
  const std::vector<std::pair<char, char>> faults = {{'b', 'a'}, {'g', 'f'}};
  for (const auto& [from, to] : faults) {
    INFO(from << " -> " << to);
    CHECK_THROWS_WITH(extract_to(point(from, to), out.path + "/" + from, "", false),
                      Catch::Contains("a second time") && Catch::Contains("(hint: "));
  }
  // Unchanged, it extracts.
  write_file(work.path + "/good.AppImage", std::string(junk_size, 'J') + good);
  CHECK_NOTHROW(
      extract_to(open_payload(work.path + "/good.AppImage"), out.path + "/good", "", false));
}

TEST_CASE("path_matches is fnmatch with FNM_PATHNAME | FNM_LEADING_DIR", "[unit]") {
  const char* patterns[] = {
      "*",         "*.desktop", "rootfs",       "rootfs/*",     "rootfs/e*/m?td", "r*/bin",
      "[ar]*",     "[!a]*",     "[^a-q]*",      "*[]]*",        "a\\*b",          "rootfs/[",
      "usr/*/x",   "?",         "[[:upper:]]*", "[[:digit:]x]", "*/*/*",          "\\",
      "rootfs/**", "a[b-]c",    "[a-c-e]x",     ".*",           "rootfs/deep"};
  const char* paths[] = {"AppRun",
                         "app.desktop",
                         "usr/share/app.desktop",
                         "rootfs",
                         "rootfs/etc/motd",
                         "rootfs/bin",
                         "rootfs/bin/tool",
                         "a*b",
                         "axb",
                         "]",
                         "rootfs/[",
                         "usr/lib/x",
                         "usr/lib/y/x",
                         "x",
                         "Xy",
                         "5",
                         "a/b/c",
                         "\\",
                         "a-c",
                         "-x",
                         ".elements",
                         ".elements/spec.json",
                         "rootfs/deep/a/b/leaf.txt",
                         "dx"};
  for (const char* p : patterns)
    for (const char* s : paths) {
      INFO("pattern " << p << " path " << s);
      CHECK(path_matches(p, s) == (::fnmatch(p, s, FNM_PATHNAME | FNM_LEADING_DIR) == 0));
    }
}

TEST_CASE("sha256 matches the FIPS 180-4 examples", "[unit]") {
  auto hex = [](const std::string& s) {
    sha256 h;
    h.update(s.data(), s.size());
    return sha256::hex(h.digest());
  };
  CHECK(hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  sha256 h;  // a million 'a', fed in uneven pieces
  const std::string chunk(997, 'a');
  std::size_t left = 1000000;
  for (; left >= chunk.size(); left -= chunk.size()) h.update(chunk.data(), chunk.size());
  h.update(chunk.data(), left);
  CHECK(sha256::hex(h.digest()) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("extract_to extracts everything, printing each path", "[unit]") {
  temp_dir out;
  const std::string dest = out.path + "/squashfs-root";
  payload_file f = image().open();
  const std::string printed = capture_stdout([&] { extract_to(f, dest, "", true); });
  check_tree(dest, true);
  CHECK_THAT(printed, Catch::Contains(dest + "/AppRun\n") &&
                          Catch::Contains(dest + "/rootfs/etc/motd\n") &&
                          Catch::Contains(dest + "/rootfs/empty\n"));

  SECTION("again over the same tree, as --appimage-extract does") {
    extract_to(f, dest, "", false);
    check_tree(dest, true);
  }
}

TEST_CASE("extract_to with a pattern takes matching entries and their parents only", "[unit]") {
  temp_dir out;
  const std::string dest = out.path + "/squashfs-root";
  payload_file f = image().open();
  const std::string printed = capture_stdout([&] { extract_to(f, dest, "rootfs/e*/m?td", true); });
  CHECK(printed == dest + "/rootfs/etc/motd\n");
  CHECK(read_file(dest + "/rootfs/etc/motd") == "hello\n");
  CHECK(list_dir(dest) == std::set<std::string>{"rootfs"});
  CHECK(list_dir(dest + "/rootfs") == std::set<std::string>{"etc"});

  // FNM_LEADING_DIR: a directory's pattern takes all of it.
  extract_to(f, dest, "rootfs/deep", false);
  CHECK(read_file(dest + "/rootfs/deep/a/b/leaf.txt") == "leaf\n");
  CHECK(list_dir(dest) == std::set<std::string>{"rootfs"});
}

TEST_CASE("extract_cached extracts once under the payload digest and reuses it", "[unit]") {
  temp_dir cache;
  env_override xdg("XDG_CACHE_HOME", cache.path);
  payload_file f = image().open();
  const std::string digest = run("tail -c +" + std::to_string(junk_size + 1) + " " + image().path +
                                 " | sha256sum | cut -c1-64");
  const std::string expected_root = cache.path + "/elements/" + digest.substr(0, 64);

  auto first = extract_cached(f, process_folders());
  CHECK(first->method() == mount_method::extract);
  CHECK(first->root() == expected_root);
  CHECK_THAT(first->detail(), Catch::StartsWith("extracted to "));
  CHECK_NOTHROW(check_tree(first->root(), true));

  auto second = extract_cached(f, process_folders());
  CHECK(second->root() == expected_root);
  CHECK_THAT(second->detail(), Catch::StartsWith("reused "));

  SECTION("a killed extraction is cleaned up and never served") {
    const std::string stale = cache.path + "/elements/.tmp-0123456789abcdef-XXXXXX";
    ::mkdir(stale.c_str(), 0700);
    ::mkdir((stale + "/locked").c_str(), 0500);
    run("rm -rf " + expected_root);
    auto again = extract_cached(f, process_folders());
    CHECK_THAT(again->detail(), Catch::StartsWith("extracted to "));
    CHECK_NOTHROW(check_tree(again->root(), true));
    CHECK(list_dir(cache.path + "/elements") ==
          std::set<std::string>{".index", digest.substr(0, 64)});
  }

  SECTION("concurrent first runs agree on one tree") {
    run("rm -rf " + cache.path + "/elements");
    std::vector<pid_t> kids;
    for (int i = 0; i < 4; ++i) {
      const pid_t pid = ::fork();
      if (pid == 0) {
        try {
          auto m = extract_cached(f, process_folders());
          check_tree(m->root(), true);
          ::_exit(m->root() == expected_root ? 0 : 1);
        } catch (...) {
          ::_exit(2);
        }
      }
      kids.push_back(pid);
    }
    for (pid_t pid : kids) {
      int status = 0;
      ::waitpid(pid, &status, 0);
      CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    }
    CHECK(list_dir(cache.path + "/elements") ==
          std::set<std::string>{".index", digest.substr(0, 64)});
  }
}

TEST_CASE("extract_cached on a full disk says so, names the fix and leaves no half tree",
          "[unit][userns]") {
  image();
  temp_dir small;
  check_outcome(in_child([&] {
    enter_user_namespace();
    expect(::mount("tmpfs", small.path.c_str(), "tmpfs", 0, "size=256k") == 0,
           "cannot mount a small tmpfs");
    ::setenv("XDG_CACHE_HOME", small.path.c_str(), 1);
    payload_file f = image().open();
    try {
      extract_cached(f, process_folders());
      throw std::runtime_error("extracting 3 MiB into 256 KiB did not fail");
    } catch (const error& e) {
      const std::string msg = e.what();
      expect(msg.find("No space left on device") != std::string::npos, msg);
      expect(msg.find("XDG_CACHE_HOME") != std::string::npos, msg);
      expect(msg.find(small.path + "/elements/") != std::string::npos, msg);
    }
    expect(list_dir(small.path + "/elements") == std::set<std::string>{".index"},
           "left something behind in the cache");
  }));
}

TEST_CASE("extract_cached names the fix when there is no cache directory", "[unit]") {
  payload_file f = image().open();
  env_override xdg("XDG_CACHE_HOME", "relative/ignored");
  const char* home = std::getenv("HOME");
  std::string saved = home ? home : "";
  ::unsetenv("HOME");
  CHECK_THROWS_WITH(extract_cached(f, process_folders()), Catch::Contains("XDG_CACHE_HOME"));
  if (home) ::setenv("HOME", saved.c_str(), 1);
}

TEST_CASE("plain_directory wraps an extracted tree", "[unit]") {
  auto d = plain_directory("/some/squashfs-root");
  CHECK(d->root() == "/some/squashfs-root");
  CHECK(d->method() == mount_method::directory);
  CHECK(std::string(to_string(d->method())) == "directory");
}

TEST_CASE("mount_kernel mounts the payload over a loop device and leaves nothing",
          "[unit][kernel]") {
  if (::geteuid() != 0 || ::access("/dev/loop-control", W_OK) != 0) {
    WARN("skipped: mount_kernel needs root and /dev/loop-control");
    return;
  }
  image();
  const std::string mounts = mount_table(), loops = loop_devices();
  temp_dir target;
  check_outcome(in_child([&] {
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      throw skip(std::string("no private mount namespace: ") + std::strerror(errno));
    payload_file f = image().open();
    std::unique_ptr<mounted_payload> m;
    try {
      m = mount_kernel(f, target.path);
    } catch (const error& e) {
      if (e.code().value() == EPERM || e.code().value() == ENODEV || e.code().value() == ENOENT)
        throw skip(e.what());
      throw;
    }
    expect(m->method() == mount_method::kernel, "method");
    expect(m->detail().rfind("/dev/loop", 0) == 0, "detail is " + m->detail());
    expect(m->root() == target.path, "root");
    check_tree(m->root(), false);
    const std::string table = read_file("/proc/self/mountinfo");
    expect(table.find(" " + target.path + " ") != std::string::npos &&
               table.find(" squashfs ") != std::string::npos,
           "not in mountinfo");
    expect(loop_devices().find(f.path) != std::string::npos, "loop device does not name the file");
    m.reset();
    expect(read_file("/proc/self/mountinfo").find(" " + target.path + " ") == std::string::npos,
           "still mounted after destruction");
  }));
  // Autoclear runs when the last user goes; give the kernel a moment.
  for (int i = 0; i < 100 && loop_devices() != loops; ++i) ::usleep(20000);
  CHECK(loop_devices() == loops);
  CHECK(mount_table() == mounts);
}

TEST_CASE("mount_fuse serves the payload from this process in a user namespace",
          "[unit][fuse][userns]") {
  if (!fuse_device_usable()) {
    WARN("skipped: /dev/fuse cannot be opened here");
    return;
  }
  image();
  const std::string mounts = mount_table();
  temp_dir base;
  check_outcome(in_child([&] {
    enter_user_namespace();
    expect(::mount("tmpfs", base.path.c_str(), "tmpfs", 0, nullptr) == 0, "cannot mount a tmpfs");
    const std::string target = base.path + "/payload";
    ::mkdir(target.c_str(), 0755);
    payload_file f = image().open();
    std::unique_ptr<mounted_payload> m;
    try {
      m = mount_fuse(f, target);
    } catch (const error& e) {
      if (e.code().value() == EPERM || e.code().value() == ENODEV) throw skip(e.what());
      throw;
    }
    expect(m->method() == mount_method::fuse && m->root() == target, "method or root");
    check_tree(target, false);
    // A miss is answered once and then remembered; it must stay a miss.
    struct stat st;
    for (int i = 0; i < 2; ++i)
      expect(::stat((target + "/rootfs/nope").c_str(), &st) != 0 && errno == ENOENT,
             "a missing file exists");
    expect(::stat((target + "/rootfs/etc/motd").c_str(), &st) == 0 && st.st_uid == 0,
           "motd is not root's");
    struct statfs sfs;
    expect(::statfs(target.c_str(), &sfs) == 0 && sfs.f_blocks > 0, "statfs");
    expect(::open((target + "/rootfs/etc/motd").c_str(), O_WRONLY) < 0 && errno == EROFS,
           "writable");
    m.reset();
    expect(read_file("/proc/self/mountinfo").find(" " + target + " ") == std::string::npos,
           "still mounted after destruction");
  }));
  CHECK(mount_table() == mounts);
}

TEST_CASE("FUSE after unshare(CLONE_NEWPID) is refused with the reason, not EINVAL",
          "[unit][fuse][userns]") {
  if (!fuse_device_usable()) {
    WARN("skipped: /dev/fuse cannot be opened here");
    return;
  }
  image();
  const std::string mounts = mount_table();
  temp_dir base;
  check_outcome(in_child([&] {
    enter_user_namespace();
    if (::unshare(CLONE_NEWPID) != 0)
      throw skip(std::string("no PID namespace: ") + std::strerror(errno));
    payload_file f = image().open();
    try {
      mount_fuse(f, base.path);
      throw std::runtime_error("mount_fuse did not refuse");
    } catch (const error& e) {
      expect(std::string(e.what()).find("PID namespace") != std::string::npos, e.what());
    }
    expect(read_file("/proc/self/mountinfo").find(" " + base.path + " ") == std::string::npos,
           "left a mount behind");
  }));
  CHECK(mount_table() == mounts);
}

// fusermount3 is setuid root; where setuid has no effect (some sandboxes)
// only root can use it, which still exercises the whole protocol.
TEST_CASE("fusermount3 mounts in the host namespaces, the runtime serves from a user namespace",
          "[unit][fuse][userns]") {
  if (::access("/usr/bin/fusermount3", X_OK) != 0) {
    WARN("skipped: fusermount3 is not installed");
    return;
  }
  image();
  const std::string mounts = mount_table();
  auto become = [](bool nobody) {
    ::unsetenv("XDG_RUNTIME_DIR");
    ::setenv("TMPDIR", "/tmp", 1);
    if (nobody) {
      expect(::setgroups(0, nullptr) == 0 && ::setresgid(65534, 65534, 65534) == 0 &&
                 ::setresuid(65534, 65534, 65534) == 0,
             "cannot become nobody");
      // Changing credentials makes the process undumpable, which leaves its
      // /proc/self files root's: the uid map could not be written.
      ::prctl(PR_SET_DUMPABLE, 1);
    }
  };
  // Runs the whole cycle as nobody (when root can switch) or as the caller.
  auto cycle = [&](bool nobody) {
    int report[2];
    REQUIRE(::pipe(report) == 0);
    const child_result r = in_child([&] {
      ::close(report[0]);
      become(nobody);
      payload_file f = image().open();
      std::unique_ptr<fusermount_pending> pending;
      try {
        pending = fusermount_prepare(f, process_folders());
      } catch (const error& e) {
        throw skip(e.what());
      }
      expect(pending != nullptr, "fusermount3 not found on PATH");
      (void)!::write(report[1], pending->mountpoint.c_str(), pending->mountpoint.size());
      ::close(report[1]);
      const std::string mountpoint = pending->mountpoint;
      // As the container does before a tmpfs covers /tmp.
      const int dir = ::open(mountpoint.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      expect(dir >= 0, "cannot open the mount point before serving");
      ::close(dir);
      enter_user_namespace();
      auto m = fusermount_serve(std::move(pending));
      expect(m->method() == mount_method::fuse && m->root() == mountpoint, "method or root");
      expect(m->detail().find("fusermount3") != std::string::npos, "detail is " + m->detail());
      check_tree(m->root(), false);
      struct stat st;
      expect(::stat((mountpoint + "/AppRun").c_str(), &st) == 0 && st.st_uid == 0,
             "the image's root files are not shown as the caller's");
    });
    ::close(report[1]);
    char buf[512] = {};
    (void)!::read(report[0], buf, sizeof buf - 1);
    ::close(report[0]);
    const std::string mountpoint = buf;
    INFO("mount point " << mountpoint);
    CHECK(mount_table() == mounts);
    CHECK((mountpoint.empty() || ::access(mountpoint.c_str(), F_OK) != 0));
    return r;
  };
  bool nobody = ::geteuid() == 0;
  child_result r = cycle(nobody);
  if (nobody && r.outcome == child_result::skipped) {
    WARN("fusermount3 does not work for nobody here (" << r.message << "); trying as root");
    nobody = false;
    r = cycle(false);
  }
  check_outcome(r);
  if (r.outcome != child_result::passed) return;

  SECTION("a mount prepared but never served goes with its owner") {
    check_outcome(in_child([&] {
      become(nobody);
      payload_file f = image().open();
      auto pending = fusermount_prepare(f, process_folders());
      const std::string mountpoint = pending->mountpoint;
      expect(mount_table().find(" " + mountpoint + " ") != std::string::npos, "not mounted");
      pending.reset();
      expect(mount_table().find(" " + mountpoint + " ") == std::string::npos, "still mounted");
      expect(::access(mountpoint.c_str(), F_OK) != 0, "mount point left behind");
    }));
    CHECK(mount_table() == mounts);
  }

  SECTION("a killed runtime leaves no mount and no mount point") {
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      try {
        become(nobody);
        payload_file f = image().open();
        auto pending = fusermount_prepare(f, process_folders());
        enter_user_namespace();
        auto m = fusermount_serve(std::move(pending));
        read_file(m->root() + "/.elements/spec.json");
        (void)!::write(ready[1], m->root().c_str(), m->root().size());
        ::close(ready[1]);
        ::pause();
      } catch (...) {
      }
      ::_exit(1);
    }
    ::close(ready[1]);
    char dirbuf[512] = {};
    const bool served = ::read(ready[0], dirbuf, sizeof dirbuf - 1) > 0;
    ::close(ready[0]);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    REQUIRE(served);
    const std::string killed_mountpoint = dirbuf;
    for (int i = 0;
         i < 150 && (mount_table() != mounts || ::access(killed_mountpoint.c_str(), F_OK) == 0);
         ++i)
      ::usleep(20000);
    CHECK(mount_table() == mounts);
    CHECK(::access(killed_mountpoint.c_str(), F_OK) != 0);
  }
}
