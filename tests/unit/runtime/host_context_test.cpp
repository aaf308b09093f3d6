// The host read once: ELEMENTS_DEBUG, the XDG folders and the mount path are
// functions of a host_context, checked here without touching the host.
#include "runtime/host_context.hpp"

#include <catch2/catch.hpp>

#include "elements/error.hpp"
#include "elements/process.hpp"
#include "runtime/cli/cli.hpp"
#include "runtime/container/container.hpp"
#include "runtime/mount/mount_path.hpp"

using namespace elements;
using namespace elements::runtime;

namespace {

host_context with_env(std::vector<std::string> env) {
  host_context h;
  h.environ = std::move(env);
  return h;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const error& e) {
    CHECK(e.status() == exit_start_failed);
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("debug_env: ELEMENTS_DEBUG set to anything but empty or 0", "[unit]") {
  CHECK_FALSE(debug_env(with_env({})));
  CHECK_FALSE(debug_env(with_env({"ELEMENTS_DEBUG="})));
  CHECK_FALSE(debug_env(with_env({"ELEMENTS_DEBUG=0"})));
  CHECK(debug_env(with_env({"ELEMENTS_DEBUG=1"})));
  CHECK(debug_env(with_env({"ELEMENTS_DEBUG=yes"})));
  CHECK_FALSE(debug_env(with_env({"ELEMENTS_DEBUGGER=1"})));
  CHECK_FALSE(debug_env(with_env({"XELEMENTS_DEBUG=1"})));
}

TEST_CASE("debug_requested: the word before --, or ELEMENTS_DEBUG", "[unit]") {
  const host_context none = with_env({});
  CHECK(debug_requested({"--elements-debug"}, none));
  CHECK(debug_requested({"-n", "x", "--elements-debug", "--", "cmd"}, none));
  CHECK_FALSE(debug_requested({"--", "--elements-debug"}, none));
  CHECK_FALSE(debug_requested({"-n", "x"}, none));
  CHECK(debug_requested({"--", "--elements-debug"}, with_env({"ELEMENTS_DEBUG=1"})));
  CHECK_FALSE(debug_requested({}, with_env({"ELEMENTS_DEBUG=0"})));
}

TEST_CASE("host_env finds NAME exactly", "[unit]") {
  const host_context h = with_env({"A=1", "AB=2", "B=", "C"});
  CHECK(host_env(h, "A") == "1");
  CHECK(host_env(h, "AB") == "2");
  CHECK(host_env(h, "B") == "");
  CHECK_FALSE(host_env(h, "C"));
  CHECK_FALSE(host_env(h, "D"));
}

TEST_CASE("folders_of follows the XDG Base Directory rules", "[unit]") {
  SECTION("XDG_* set and absolute") {
    const host_folders f =
        folders_of(with_env({"HOME=/home/u", "XDG_DATA_HOME=/d", "XDG_CACHE_HOME=/c",
                             "XDG_RUNTIME_DIR=/run/user/1", "TMPDIR=/t"}));
    CHECK(f.data == "/d");
    CHECK(f.cache == "/c");
    CHECK(f.runtime == "/run/user/1");
    CHECK(f.temp == "/t");
  }
  SECTION("XDG_* unset: below HOME, /tmp for temporary files") {
    const host_folders f = folders_of(with_env({"HOME=/home/u"}));
    CHECK(f.data == "/home/u/.local/share");
    CHECK(f.cache == "/home/u/.cache");
    CHECK(f.runtime.empty());
    CHECK(f.temp == "/tmp");
  }
  SECTION("a relative XDG_* or TMPDIR is ignored") {
    const host_folders f = folders_of(
        with_env({"HOME=/home/u", "XDG_DATA_HOME=rel", "XDG_CACHE_HOME=", "TMPDIR=tmp"}));
    CHECK(f.data == "/home/u/.local/share");
    CHECK(f.cache == "/home/u/.cache");
    CHECK(f.temp == "/tmp");
  }
  SECTION("PATH, where host tools are found: as given, else the default search path") {
    CHECK(folders_of(with_env({"PATH=/opt/bin:/usr/bin"})).path == "/opt/bin:/usr/bin");
    CHECK(folders_of(with_env({})).path == default_path);
    CHECK(folders_of(with_env({"PATH="})).path == default_path);
  }
  SECTION("XDG_RUNTIME_DIR is passed on as given, to be checked where it is used") {
    CHECK(folders_of(with_env({"XDG_RUNTIME_DIR=rel"})).runtime == "rel");
  }
  SECTION("HOME missing or relative: no data or cache folder, and the same errors as ever") {
    for (const auto& env : {std::vector<std::string>{}, std::vector<std::string>{"HOME=rel"},
                            std::vector<std::string>{"HOME=rel", "XDG_CACHE_HOME=c"}}) {
      const host_folders f = folders_of(with_env(env));
      CHECK(f.data.empty());
      CHECK(f.cache.empty());
      CHECK(error_of([&] { persist_base(f); }) ==
            "\"writable\": \"persist\" needs HOME or XDG_DATA_HOME to keep its files");
      CHECK(error_of([&] { extract_cache_base(f); }) ==
            "cannot extract the payload: neither XDG_CACHE_HOME nor HOME is set, so there is no "
            "cache directory (hint: set XDG_CACHE_HOME to a directory with room for the payload)");
    }
  }
  SECTION("an XDG_* folder alone is enough") {
    const host_folders f = folders_of(with_env({"XDG_DATA_HOME=/d", "XDG_CACHE_HOME=/c"}));
    CHECK(persist_base(f) == "/d");
    CHECK(extract_cache_base(f) == "/c");
  }
}

TEST_CASE("persist_upper_path: the upper layer below the data folder", "[unit]") {
  CHECK(persist_upper_path("app.x1") == "elements/app.x1/upper");
}

TEST_CASE("parse_mount_request reads ELEMENTS_MOUNT", "[unit]") {
  CHECK(parse_mount_request(std::nullopt) == mount_request::automatic);
  CHECK(parse_mount_request("") == mount_request::automatic);
  CHECK(parse_mount_request("kernel") == mount_request::kernel);
  CHECK(parse_mount_request("fuse") == mount_request::fuse);
  CHECK(parse_mount_request("extract") == mount_request::extract);
  CHECK(error_of([] { parse_mount_request("Fuse"); }) ==
        "ELEMENTS_MOUNT=Fuse is not a mount method (hint: use kernel, fuse or extract, or unset "
        "it)");
}

TEST_CASE("choose_mount_path: the ladder as data", "[unit]") {
  using r = mount_rung;
  using rungs = std::vector<mount_rung>;
  const auto path = [](mount_request m, bool privileged, bool fuse_usable) {
    return choose_mount_path(m, privileged, fuse_usable, true);
  };
  SECTION("automatic: kernel first for root, else FUSE when usable, extract last") {
    CHECK(path(mount_request::automatic, true, true).rungs ==
          rungs{r::kernel, r::fuse, r::extract});
    CHECK(path(mount_request::automatic, false, true).rungs == rungs{r::fuse, r::extract});
    CHECK(path(mount_request::automatic, false, false).rungs == rungs{r::extract});
    CHECK_FALSE(path(mount_request::automatic, false, false).fusermount);
  }
  SECTION("a forced method is the only rung") {
    CHECK(path(mount_request::kernel, true, true).rungs == rungs{r::kernel});
    CHECK(path(mount_request::fuse, true, true).rungs == rungs{r::fuse});
    CHECK(path(mount_request::fuse, false, true).rungs == rungs{r::fuse});
    CHECK(path(mount_request::extract, true, true).rungs == rungs{r::extract});
    CHECK(path(mount_request::extract, false, false).rungs == rungs{r::extract});
  }
  SECTION("fusermount3 only for FUSE asked for where /dev/fuse is not usable") {
    CHECK(path(mount_request::fuse, false, false).fusermount);
    CHECK(path(mount_request::fuse, false, false).rungs == rungs{r::fuse});
    CHECK_FALSE(path(mount_request::fuse, false, true).fusermount);
    CHECK_FALSE(path(mount_request::fuse, true, true).fusermount);
    CHECK_FALSE(path(mount_request::automatic, true, true).fusermount);
  }
  SECTION("no payload in the file: the tree beside it, whatever was asked") {
    for (auto m : {mount_request::automatic, mount_request::fuse, mount_request::extract}) {
      const mount_path p = choose_mount_path(m, false, false, false);
      CHECK(p.host_directory);
      CHECK(p.rungs.empty());
      CHECK_FALSE(p.fusermount);
    }
    CHECK_FALSE(path(mount_request::automatic, false, true).host_directory);
  }
  SECTION("ELEMENTS_MOUNT=kernel needs root, with or without a payload") {
    for (bool has_payload : {true, false})
      CHECK(error_of([&] { choose_mount_path(mount_request::kernel, false, true, has_payload); }) ==
            "ELEMENTS_MOUNT=kernel needs root (hint: unset it to use FUSE)");
  }
}
