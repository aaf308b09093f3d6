// Wait statuses as exit statuses, and PATH lookups over real files.

#include "elements/process.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "../builder/test_support.hpp"

namespace {

namespace fs = std::filesystem;
using elements::empty_entry;
using elements::find_program;

// The wait status of a child that runs `body`.
template <typename F>
int wait_status_of(F body) {
  std::fflush(nullptr);  // buffered output would be written twice
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) body();
  int ws = 0;
  REQUIRE(::waitpid(pid, &ws, 0) == pid);
  return ws;
}

void make_file(const fs::path& p, mode_t mode) {
  builder_test::write_file(p, "#!/bin/sh\n", mode);
}

// Runs in `dir` for the scope's length.
class in_dir {
 public:
  explicit in_dir(const fs::path& dir) : previous_(fs::current_path()) { fs::current_path(dir); }
  ~in_dir() { fs::current_path(previous_); }
  in_dir(const in_dir&) = delete;
  in_dir& operator=(const in_dir&) = delete;

 private:
  fs::path previous_;
};

}  // namespace

TEST_CASE("status_of: the child's exit code") {
  CHECK(elements::status_of(wait_status_of([] { ::_exit(0); })) == 0);
  CHECK(elements::status_of(wait_status_of([] { ::_exit(3); })) == 3);
  CHECK(elements::status_of(wait_status_of([] { ::_exit(255); })) == 255);
}

TEST_CASE("status_of: 128 plus the signal that ended the child") {
  CHECK(elements::status_of(wait_status_of([] {
          ::signal(SIGTERM, SIG_DFL);
          ::raise(SIGTERM);
          ::_exit(0);
        })) == 128 + SIGTERM);
  CHECK(elements::status_of(wait_status_of([] {
          ::raise(SIGKILL);
          ::_exit(0);
        })) == 137);
}

TEST_CASE("path_or_default: PATH unset or empty means the default") {
  CHECK(elements::path_or_default(nullptr) == elements::default_path);
  CHECK(elements::path_or_default("") == elements::default_path);
  CHECK(elements::path_or_default("/opt/bin") == "/opt/bin");
}

TEST_CASE("find_program: the first folder with an executable of that name") {
  builder_test::temp_dir t;
  const fs::path a = t.path() / "a", b = t.path() / "b", c = t.path() / "c";
  make_file(a / "tool", 0644);  // not executable: passed over
  make_file(b / "tool", 0755);
  make_file(c / "tool", 0755);
  fs::create_directories(t.path() / "empty");
  const std::string dirs = (t.path() / "missing").native() + ":" + (t.path() / "empty").native() +
                           ":" + a.native() + ":" + b.native() + ":" + c.native();
  CHECK(find_program("tool", dirs) == (b / "tool").native());
  CHECK(find_program("other", dirs).empty());
  CHECK(find_program("tool", a.native()).empty());
  CHECK(find_program("tool", c.native()) == (c / "tool").native());
  CHECK(find_program("tool", "").empty());
}

TEST_CASE("find_program: empty entries are skipped or mean the current folder") {
  builder_test::temp_dir t;
  const fs::path here = t.path() / "here", other = t.path() / "other";
  make_file(here / "tool", 0755);
  make_file(other / "tool", 0755);
  in_dir cd(here);
  for (const std::string& dirs : {":" + other.native(), other.native() + ":",
                                  other.native() + "::" + other.native(), std::string()}) {
    INFO("dirs: \"" << dirs << "\"");
    const std::string skipped = find_program("tool", dirs, empty_entry::skip);
    CHECK(skipped == (dirs.empty() ? "" : (other / "tool").native()));
  }
  CHECK(find_program("tool", ":" + other.native(), empty_entry::current_dir) == "./tool");
  CHECK(find_program("tool", other.native() + ":", empty_entry::current_dir) ==
        (other / "tool").native());
  CHECK(find_program("tool", "", empty_entry::current_dir) == "./tool");
  CHECK(find_program("tool", "/nonexistent::", empty_entry::current_dir) == "./tool");
  CHECK(find_program("tool", "/nonexistent::", empty_entry::skip).empty());
}
