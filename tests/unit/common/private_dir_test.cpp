// The caller's own folders on the host: created 0700, never reached through
// a symlink, refused when someone else owns them or may change them.
#include "elements/private_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <string>

#include "../builder/test_support.hpp"
#include "elements/error.hpp"

using namespace elements;
using builder_test::temp_dir;

namespace {

std::string refusal(const std::function<void()>& f) {
  try {
    f();
  } catch (const error& e) {
    CHECK(e.status() == exit_start_failed);
    return e.what();
  }
  return "(accepted)";
}

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("private folders are made 0700 and opened again as they are", "[unit]") {
  temp_dir dir;
  const std::string base = (dir / "cache").native();
  unique_fd b = open_base_dir(base, "fix");
  REQUIRE(b);
  CHECK(mode_of(dir / "cache") == 0700);
  unique_fd e = open_private_dir(b.get(), "elements", base + "/elements", "fix");
  REQUIRE(e);
  CHECK(mode_of(dir / "cache" / "elements") == 0700);
  CHECK(open_private_dir(b.get(), "elements", base + "/elements", "fix"));
  CHECK_FALSE(open_private_dir(b.get(), "missing", base + "/missing", "fix", false));
  CHECK_FALSE(open_base_dir((dir / "nowhere").native(), "fix", false));
  CHECK_FALSE(std::filesystem::exists(dir / "nowhere"));

  const std::string name = make_temp_dir_at(e.get(), ".tmp-", 0700, base + "/elements");
  CHECK(name.starts_with(".tmp-"));
  CHECK(name.size() == 5 + 8);
  CHECK(mode_of(dir / "cache" / "elements" / name) == 0700);
  CHECK(make_temp_dir_at(e.get(), ".tmp-", 0700, base + "/elements") != name);
}

TEST_CASE("a symlinked private folder is refused and its target left alone", "[unit]") {
  temp_dir dir;
  std::filesystem::create_directory(dir / "target");
  std::filesystem::create_directory_symlink(dir / "target", dir / "elements");
  unique_fd b = open_base_dir(dir.path().native(), "fix");
  const std::string shown = (dir / "elements").native();
  CHECK(refusal([&] { open_private_dir(b.get(), "elements", shown, "fix"); }) ==
        shown +
            " is a symlink or not a folder, and elements keeps its files only in a folder of "
            "your own (hint: remove it, or fix)");
  CHECK(std::filesystem::is_empty(dir / "target"));
}

TEST_CASE("a private folder others may write to is refused", "[unit]") {
  temp_dir dir;
  std::filesystem::create_directory(dir / "elements");
  REQUIRE(::chmod((dir / "elements").c_str(), 0777) == 0);
  unique_fd b = open_base_dir(dir.path().native(), "fix");
  const std::string shown = (dir / "elements").native();
  CHECK(refusal([&] { open_private_dir(b.get(), "elements", shown, "fix"); }) ==
        shown + " can be written by others (mode 0777), so what it holds cannot be trusted " +
            "(hint: chmod go-w " + shown + ", or fix)");
}

TEST_CASE("a private folder of another user is refused", "[unit]") {
  if (::geteuid() != 0) {
    WARN("SKIPPED: needs root to give a folder to another user");
    return;
  }
  temp_dir dir;
  std::filesystem::create_directory(dir / "elements");
  REQUIRE(::chown((dir / "elements").c_str(), 12345, 12345) == 0);
  REQUIRE(::chmod((dir / "elements").c_str(), 0700) == 0);
  unique_fd b = open_base_dir(dir.path().native(), "fix");
  const std::string shown = (dir / "elements").native();
  CHECK(refusal([&] { open_private_dir(b.get(), "elements", shown, "fix"); }) ==
        shown +
            " belongs to uid 12345, not to you, so what it holds cannot be trusted (hint: fix)");
}

TEST_CASE("a base folder under a shared folder that is not sticky is refused", "[unit]") {
  temp_dir dir;
  std::filesystem::create_directories(dir / "shared" / "cache");
  REQUIRE(::chmod((dir / "shared").c_str(), 0777) == 0);
  const std::string base = (dir / "shared" / "cache").native();
  const std::string shared = (dir / "shared").native();
  CHECK(refusal([&] { open_base_dir(base, "fix"); }) ==
        "cannot keep files under " + base + ": others can write to " + shared +
            " (mode 0777) and it is not sticky, so they could replace them (hint: chmod +t " +
            shared + ", or fix)");
  // Sticky, as /tmp is: no one but an entry's owner may rename it.
  REQUIRE(::chmod((dir / "shared").c_str(), 01777) == 0);
  CHECK(open_base_dir(base, "fix"));
}

TEST_CASE("a base folder of the caller's own group may be group-writable", "[unit]") {
  temp_dir dir;
  std::filesystem::create_directories(dir / "home" / "cache");
  REQUIRE(::chmod((dir / "home").c_str(), 0775) == 0);
  REQUIRE(::chown((dir / "home").c_str(), ::geteuid(), ::getegid()) == 0);
  CHECK(open_base_dir((dir / "home" / "cache").native(), "fix"));
}

TEST_CASE("a base folder may be reached through a symlink of the caller's", "[unit]") {
  temp_dir dir;
  std::filesystem::create_directory(dir / "real");
  std::filesystem::create_directory_symlink(dir / "real", dir / "link");
  unique_fd b = open_base_dir((dir / "link" / "cache").native(), "fix");
  REQUIRE(b);
  CHECK(std::filesystem::is_directory(dir / "real" / "cache"));
}

TEST_CASE("a temporary folder must exist and is made fresh and private", "[unit]") {
  temp_dir dir;
  const std::string made = make_temp_dir(dir.path().native(), "x.");
  CHECK(made.starts_with((dir / "x.").native()));
  CHECK(mode_of(made) == 0700);
  const std::string missing = (dir / "missing").native();
  CHECK(refusal([&] { make_temp_dir(missing, "x."); }) ==
        "the temporary folder " + missing +
            " does not exist (hint: create it, or set TMPDIR to a folder that exists)");
}
