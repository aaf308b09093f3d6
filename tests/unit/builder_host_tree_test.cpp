#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "builder_test_support.hpp"
#include "elements/error.hpp"
#include "elements/unique_fd.hpp"
#include "host_tree.hpp"
#include "squashfs_writer.hpp"
#include "step_cache.hpp"

using namespace elements;
using namespace elements::builder;
using namespace builder_test;

namespace {

// Many folders at several depths, so that several threads share the work,
// with hard links between far-apart folders and symlinks.
void make_wide_tree(const fs::path& r) {
  for (int a = 0; a < 12; ++a) {
    for (int b = 0; b < 8; ++b) {
      const fs::path d = r / ("a" + std::to_string(a)) / ("b" + std::to_string(b));
      for (int c = 0; c < 3; ++c)
        write_file(d / ("c" + std::to_string(c)) / "f",
                   "file " + std::to_string(a) + "/" + std::to_string(b) + "/" + std::to_string(c),
                   c == 0 ? 0755 : 0644);
      REQUIRE(::symlink("../b0", (d / "up").c_str()) == 0);
    }
  }
  write_file(r / "a0/b0/c0/linked", "one inode, three names");
  REQUIRE(::link((r / "a0/b0/c0/linked").c_str(), (r / "a11/b7/c2/linked").c_str()) == 0);
  REQUIRE(::link((r / "a0/b0/c0/linked").c_str(), (r / "a5/b3/linked").c_str()) == 0);
}

node_ptr at(const node_ptr& root, const std::string& path) {
  auto where = locate(root, path);
  REQUIRE(where);
  REQUIRE(where->entry);
  return where->entry;
}

std::string packed(const temp_dir& dir, const node_ptr& root, const std::string& name) {
  const auto image = dir / name;
  unique_fd fd(::open(image.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  REQUIRE(fd);
  squashfs_options options;
  options.workers = 2;
  write_squashfs(fd.get(), 0, root, options);
  return read_file(image);
}

// Runs `read` in a child process as the unprivileged id 65534 (when the
// test runs as root) and returns what it threw, "" when it did not throw.
std::string message_as_nobody(const fs::path& tree, unsigned threads) {
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(pipe_fds[0]);
    if (::geteuid() == 0 &&
        (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
         ::setresuid(65534, 65534, 65534) != 0))
      ::_exit(3);
    std::string what;
    try {
      host_read_options options;
      options.threads = threads;
      read_host_tree(tree, options);
    } catch (const error& e) {
      what = e.what();
    }
    (void)!::write(pipe_fds[1], what.data(), what.size());
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string got;
  char buf[512];
  for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;)
    got.append(buf, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  return got;
}

// An access ACL (the kernel's xattr format) that gives the owner rw, the
// user 65534 nothing and everyone else r: the mode bits alone say 0644.
std::string acl_denying_nobody() {
  std::string acl;
  auto put = [&](std::uint32_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) acl.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  };
  put(2, 4);  // version
  const std::uint32_t undefined = 0xFFFFFFFF;
  struct entry {
    std::uint16_t tag, perm;
    std::uint32_t id;
  };
  for (const entry e : {entry{0x01, 6, undefined}, entry{0x02, 0, 65534}, entry{0x04, 4, undefined},
                        entry{0x10, 4, undefined}, entry{0x20, 4, undefined}}) {
    put(e.tag, 2);
    put(e.perm, 2);
    put(e.id, 4);
  }
  return acl;
}

}  // namespace

TEST_CASE("a host tree reads the same with one thread or many", "[unit]") {
  temp_dir dir;
  make_wide_tree(dir / "root");
  host_read_options one;
  one.threads = 1;
  host_read_options many;
  many.threads = 6;
  const node_ptr a = read_host_tree(dir / "root", one);
  const node_ptr b = read_host_tree(dir / "root", many);
  CHECK(tree_digest(a) == tree_digest(b));
  CHECK(packed(dir, a, "a.sqfs") == packed(dir, b, "b.sqfs"));

  // Three names, one inode, whichever thread met which name first.
  CHECK(at(b, "/a0/b0/c0/linked") == at(b, "/a11/b7/c2/linked"));
  CHECK(at(b, "/a0/b0/c0/linked") == at(b, "/a5/b3/linked"));
  CHECK(at(b, "/a7/b2/up")->link_target == "../b0");
  CHECK((at(b, "/a3/b4/c0/f")->mode & 07777) == 0755);
  std::string bytes;
  at(b, "/a9/b6/c1/f")->content->read([&](std::span<const unsigned char> s) {
    bytes.append(s.begin(), s.end());
  });
  CHECK(bytes == "file 9/6/1");
  CHECK(at(b, "/a9/b6/c1/f")->content->size_hint() == bytes.size());

  // A file, read alone.
  const node_ptr file = read_host_tree(dir / "root/a1/b1/c1/f", many);
  CHECK(S_ISREG(file->mode));
}

TEST_CASE("a file or folder the caller cannot read fails the read, whatever thread meets it",
          "[unit]") {
  if (::geteuid() != 0) {
    WARN("SKIPPED: needs root to read as another user");
    return;
  }
  temp_dir dir;
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
  const fs::path root = dir / "root";
  make_wide_tree(root);
  CHECK(message_as_nobody(root, 4).empty());

  SECTION("a file the mode bits keep from others") {
    write_file(root / "a8/b5/c2/secret", "root's", 0600);
    for (unsigned threads : {1u, 4u})
      CHECK_THAT(message_as_nobody(root, threads),
                 Catch::StartsWith("cannot read " + (root / "a8/b5/c2/secret").native() +
                                   ": Permission denied"));
  }
  SECTION("a file whose ACL denies what its mode bits allow") {
    write_file(root / "a2/b6/c0/denied", "not for nobody", 0644);
    const std::string acl = acl_denying_nobody();
    if (::setxattr((root / "a2/b6/c0/denied").c_str(), "system.posix_acl_access", acl.data(),
                   acl.size(), 0) != 0) {
      WARN("SKIPPED: the temp folder's filesystem takes no ACLs: " << std::strerror(errno));
      return;
    }
    CHECK_THAT(message_as_nobody(root, 4),
               Catch::StartsWith("cannot read " + (root / "a2/b6/c0/denied").native() +
                                 ": Permission denied"));
  }
  SECTION("a folder deep in the tree") {
    REQUIRE(::chmod((root / "a10/b1").c_str(), 0700) == 0);
    CHECK_THAT(message_as_nobody(root, 4),
               Catch::StartsWith("cannot read the folder " + (root / "a10/b1").native()));
  }
}
