#include <catch2/catch.hpp>
#include <string>

#include "builder/cli.hpp"
#include "builder/definition/definition.hpp"
#include "builder/squashfs/squashfs_writer.hpp"
#include "elements/error.hpp"
#include "test_support.hpp"

using namespace elements;
using namespace elements::builder;
using builder_test::temp_dir;
using builder_test::write_file;

namespace {

// The message and status a definition is refused with; "" when accepted.
std::string refusal(const std::string& text, const std::filesystem::path& file) {
  try {
    parse_definition(text, file);
  } catch (const error& e) {
    CHECK(e.status() == exit_usage);
    return e.what();
  }
  return "";
}

std::string with_run(const std::string& fields) {
  return R"({"name": "web", "from": "scratch", )" + fields + "}";
}

}  // namespace

TEST_CASE("a definition with comments and every section is read", "[unit]") {
  temp_dir dir;
  write_file(dir / "files/site.conf", "x\n");
  write_file(dir / "icon.svg", "<svg/>");
  const auto file = dir / "element.json";
  const std::string text = R"(// the web element
{
  "name": "web",
  "from": "dir:rootfs",   /* resolved by resolve_source */
  "build": [{"copy": "files/site.conf", "to": "/etc/site.conf", "owner": "1000:100", "mode": "0640"}],
  "desktop": {"icon": "icon.svg", "categories": ["Network", "Utility"], "terminal": false},
  "updateInformation": "zsync|https://example.org/web.zsync",
  "run": {"command": ["/bin/httpd", "-f"], "args": [{"name": "port", "env": "PORT", "type": "int"}]}
})";
  const definition def = parse_definition(text, file);
  CHECK(def.name == "web");
  CHECK(def.from == "dir:rootfs");
  REQUIRE(def.build.size() == 1);
  REQUIRE(def.build[0].copy);
  CHECK_FALSE(def.build[0].run);
  CHECK(def.build[0].copy->source == dir / "files/site.conf");
  CHECK(def.build[0].copy->target == "/etc/site.conf");
  CHECK(def.build[0].copy->owner == std::pair<std::uint32_t, std::uint32_t>{1000, 100});
  CHECK(def.build[0].copy->mode == 0640);
  CHECK(def.desktop.icon == dir / "icon.svg");
  CHECK(def.desktop.categories == std::vector<std::string>{"Network", "Utility"});
  CHECK_FALSE(def.desktop.terminal);
  CHECK(def.update_information == "zsync|https://example.org/web.zsync");
  CHECK(def.run.name == "web");
  CHECK(def.run.version == 1);
  CHECK(def.run.command == std::vector<std::string>{"/bin/httpd", "-f"});
  REQUIRE(def.run.args.size() == 1);
  CHECK(def.run.args[0].type == arg_type::int_);
}

TEST_CASE("a JSON syntax error names the file, line and column", "[unit]") {
  const std::string text = "{\n  \"name\": \"web\",\n  \"from\": x\n}";
  CHECK(refusal(text, "def/element.json").starts_with("def/element.json:3:11: syntax error"));
  CHECK(refusal("{\n  \"name\": \"web\"\n  \"from\": \"scratch\"\n}", "element.json")
            .starts_with("element.json:3:8: syntax error while parsing object"));
  CHECK(refusal("{\"name\": \"web\",\n", "element.json").starts_with("element.json:2:1: "));
  CHECK(refusal("", "element.json").starts_with("element.json:1:1: "));
}

TEST_CASE("a number too large for JSON names the file, line and column", "[unit]") {
  // It escaped as nlohmann's out_of_range (found by elements-fuzz-definition).
  CHECK(refusal("{\"name\": \"web\",\n \"x\": 99999e9999999999999}", "element.json") ==
        "element.json:2:7: number overflow parsing '99999e9999999999999' (too large for a number: "
        "write it as a string)");
}

TEST_CASE("line and column count characters, not bytes", "[unit]") {
  CHECK(line_column("abc", 0) == std::pair<std::size_t, std::size_t>{1, 1});
  CHECK(line_column("abc", 2) == std::pair<std::size_t, std::size_t>{1, 3});
  CHECK(line_column("a\nbc", 3) == std::pair<std::size_t, std::size_t>{2, 2});
  CHECK(line_column("\xc3\xa9x", 2) == std::pair<std::size_t, std::size_t>{1, 2});
  CHECK(line_column("ab", 99) == std::pair<std::size_t, std::size_t>{1, 3});
}

TEST_CASE("schema errors name the JSON pointer", "[unit]") {
  const std::filesystem::path f = "element.json";
  CHECK(
      refusal(R"({"name": "web", "from": "scratch", "color": 1, "run": {"command": ["x"]}})", f) ==
      "element.json: /color: unknown field (check its spelling against "
      "schema/element.schema.json)");
  CHECK(refusal(R"({"from": "scratch"})", f) == "element.json: missing required field \"name\"");
  CHECK(refusal(R"({"name": "a b", "from": "scratch"})", f)
            .starts_with("element.json: /name: must match"));
  CHECK(refusal(R"({"name": "..", "from": "scratch"})", f).starts_with("element.json: /name: "));
  CHECK(refusal("[]", f) == "element.json: must be an object");
  CHECK(refusal(with_run(R"("run": {"command": "x"})"), f) ==
        "element.json: /run/command: must be an array of strings");
  CHECK(refusal(with_run(R"("run": {})"), f) ==
        "element.json: /run: missing required field \"command\"");
  CHECK(refusal(with_run(R"("run": {"command": ["x"], "name": "other"})"), f)
            .starts_with("element.json: /run/name: unknown field"));
  CHECK(refusal(with_run(R"("run": {"command": ["x"], "version": 1})"), f)
            .starts_with("element.json: /run/version: unknown field"));
  CHECK(
      refusal(
          with_run(
              R"("run": {"command": ["x"], "args": [{"name": "a", "env": "A"}, {"name": "b", "env": "B"},
                          {"name": "c", "env": "C", "type": "float"}]})"),
          f) == "element.json: /run/args/2/type: must be one of str, int, bool, path");
  CHECK(refusal(with_run(R"("run": {"command": ["x"]}, "desktop": {"terminal": "yes"})"), f) ==
        "element.json: /desktop/terminal: must be true or false");
  CHECK(refusal(with_run(R"("run": {"command": ["x"]}, "desktop": {"categories": ["A;B"]})"), f)
            .starts_with("element.json: /desktop/categories/0: "));
  CHECK(refusal(with_run(R"("run": {"command": ["x"]}, "build": {})"), f) ==
        "element.json: /build: must be an array of steps");
  CHECK(refusal(with_run(R"("run": {"command": ["x"]}, "build": [{"run": []}])"), f) ==
        "element.json: /build/0/run: must be a shell line or a non-empty array of strings such "
        "as [\"/bin/true\"]");
  CHECK(refusal(with_run(R"("run": {"command": ["x"]}, "build": [{"run": ["/bin/sh", 1]}])"), f) ==
        "element.json: /build/0/run/1: must be a string");
  CHECK(refusal(with_run(R"("run": {"command": ["x"]}, "build": [{"run": " "}])"), f)
            .starts_with("element.json: /build/0/run: must not be empty"));
  CHECK(refusal(with_run(R"("run": {"command": ["x"]}, "build": [{"run": "x", "to": "/x"}])"), f) ==
        "element.json: /build/0/to: a \"run\" step takes no \"to\" (make it a step "
        "of its own)");
  CHECK(refusal(
            with_run(
                R"("run": {"command": ["x"]}, "build": [{"copy": "x", "to": "/x", "chown": "1"}])"),
            f) ==
        "element.json: /build/0/chown: unknown field (check its spelling against "
        "schema/element.schema.json)");
  const auto update_info = [](std::size_t n) {
    return with_run(R"("run": {"command": ["x"]}, "updateInformation": ")" + std::string(n, 'u') +
                    "\"");
  };
  CHECK(refusal(update_info(1025), f) ==
        "element.json: /updateInformation: is 1025 bytes; the runtime holds at most 1024");
  CHECK(refusal(update_info(1024), f) == "");
}

TEST_CASE("copy steps are checked against the definition's folder", "[unit]") {
  temp_dir dir;
  write_file(dir / "conf", "x");
  write_file(dir / "notpng.png", "GIF89a");
  const auto f = dir / "element.json";
  const std::string prefix = f.native() + ": ";
  CHECK(
      refusal(with_run(R"("run": {"command": ["x"]}, "build": [{"copy": "missing", "to": "/x"}])"),
              f) == prefix +
                        "/build/0/copy: missing: No such file or directory (paths are relative to "
                        "the folder of " +
                        f.native() + ")");
  CHECK(refusal(with_run(R"("run": {"command": ["x"]}, "build": [{"copy": "conf"}])"), f) ==
        prefix + "/build/0: needs \"to\" (where the copy lands in the rootfs)");
  CHECK(refusal(with_run(R"("run": {"command": ["x"]}, "build": [{"copy": "conf", "to": "etc"}])"),
                f) == prefix + "/build/0/to: must be an absolute path in the rootfs");
  CHECK(
      refusal(
          with_run(
              R"("run": {"command": ["x"]}, "build": [{"copy": "conf", "to": "/etc", "owner": "root"}])"),
          f)
          .starts_with(prefix + "/build/0/owner: must be \"UID:GID\""));
  CHECK(
      refusal(
          with_run(
              R"("run": {"command": ["x"]}, "build": [{"copy": "conf", "to": "/etc", "mode": "0999"}])"),
          f)
          .starts_with(prefix + "/build/0/mode: must be octal"));
  CHECK(refusal(with_run(R"("run": {"command": ["x"]}, "desktop": {"icon": "notpng.png"})"), f)
            .starts_with(prefix + "/desktop/icon: "));
  CHECK(refusal(with_run(R"("run": {"command": ["x"]}, "desktop": {"icon": "conf"})"), f)
            .starts_with(prefix + "/desktop/icon: must be a .png or .svg file"));
}

TEST_CASE("the source comes from --from or the definition's from", "[unit]") {
  temp_dir dir;
  std::filesystem::create_directories(dir / "rootfs");
  const auto f = dir / "element.json";
  auto def =
      parse_definition(R"({"name": "a", "from": "dir:rootfs", "run": {"command": ["x"]}})", f);
  auto ref = resolve_source(def, std::nullopt);
  CHECK(ref.kind == source_kind::dir);
  CHECK(ref.path == dir / "rootfs");
  CHECK(resolve_source(def, "scratch").kind == source_kind::scratch);

  auto refused = [&](const std::string& from) -> std::string {
    auto d = parse_definition(
        R"({"name": "a", "from": ")" + from + R"(", "run": {"command": ["x"]}})", f);
    try {
      resolve_source(d, std::nullopt);
    } catch (const error& e) {
      CHECK(e.status() == exit_usage);
      return e.what();
    }
    return "";
  };
  CHECK(refused("tar:image.tar") ==
        f.native() + ": /from: " + (dir / "image.tar").native() +
            " is not a file (tar: needs a tar archive, plain or compressed with gzip, zstd or "
            "xz)");
  // An image's config is read with the definition, so a missing image is
  // refused there.
  auto image_refused = [&](const std::string& from) -> std::string {
    try {
      parse_definition(R"({"name": "a", "from": ")" + from + R"("})", f);
    } catch (const error& e) {
      CHECK(e.status() == exit_usage);
      return e.what();
    }
    return "";
  };
  CHECK(image_refused("oci:images/alpine:3.19")
            .starts_with(f.native() + ": /from: no OCI image layout at "));
  CHECK(image_refused("docker-archive:x.tar")
            .starts_with(f.native() + ": /from: " + (dir / "x.tar").native() + " is not a file"));
  CHECK(
      refused("dir:nothere")
          .starts_with(f.native() + ": /from: " + (dir / "nothere").native() + " is not a folder"));
  CHECK(refused("http://x").starts_with(f.native() + ": /from: unknown source \"http://x\""));
  CHECK(refused("dir:").find("names no path") != std::string::npos);

  auto no_from = parse_definition(R"({"name": "a", "run": {"command": ["x"]}})", f);
  CHECK_THROWS_WITH(resolve_source(no_from, std::nullopt),
                    f.native() + ": missing required field \"from\" (or pass --from SOURCE)");
  CHECK_THROWS_WITH(
      resolve_source(no_from, "tar:x"),
      Catch::StartsWith("--from: " + (std::filesystem::current_path() / "x").native() +
                        " is not a file"));
}

TEST_CASE("a definition folder stands for its element.json", "[unit]") {
  temp_dir dir;
  write_file(dir / "element.json",
             R"({"name": "a", "from": "scratch", "run": {"command": ["x"]}})");
  CHECK(load_definition(dir.path()).name == "a");
  CHECK_THROWS_WITH(
      load_definition(dir / "nope.json"),
      Catch::StartsWith("cannot read the definition " + (dir / "nope.json").native()));
}

TEST_CASE("compression choices and levels are parsed", "[unit]") {
  CHECK(parse_compression("zstd").to_string() == "zstd:9");
  CHECK(parse_compression("zstd:19").to_string() == "zstd:19");
  CHECK(parse_compression("xz").to_string() == "xz");
  CHECK(parse_compression("gzip:9").to_string() == "gzip:9");
  CHECK(parse_compression("lz4").to_string() == "lz4");
  CHECK_THROWS_WITH(parse_compression("zstd:23"),
                    "--compression: the zstd level must be from 1 to 22");
  CHECK_THROWS_WITH(parse_compression("zstd:"),
                    Catch::StartsWith("--compression: the zstd level must be a number"));
  CHECK_THROWS_WITH(parse_compression("lz4:3"), "--compression: lz4 takes no level");
  CHECK_THROWS_WITH(parse_compression("brotli"),
                    Catch::StartsWith("--compression: unknown compressor \"brotli\""));
}

TEST_CASE("the command line takes one definition and checks its values", "[unit]") {
  auto parse = [](std::vector<std::string> args) {
    args.insert(args.begin(), "elements-pack");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    return parse_cli(static_cast<int>(argv.size()), argv.data());
  };
  auto o = parse({"-o", "out.AppImage", "--from", "scratch", "--compression", "xz", "--check", "-q",
                  "--source-date-epoch", "1700000000", "--progress", "never", "--no-cache", "def"});
  CHECK(o.definition == "def");
  CHECK(o.output == "out.AppImage");
  CHECK(o.from == "scratch");
  CHECK(o.comp.kind == compressor::xz);
  CHECK(o.check);
  CHECK(o.quiet);
  CHECK(o.no_cache);
  CHECK(o.source_date_epoch == 1700000000);
  CHECK(o.progress == progress_mode::never);
  CHECK(parse({"-V"}).answer == std::string("elements-pack ") + ELEMENTS_VERSION + "\n");
  CHECK(parse({"-h"}).answer->find("--compression") != std::string::npos);
  CHECK_THROWS_WITH(parse({}), Catch::StartsWith("missing DEFINITION"));
  CHECK_THROWS_WITH(parse({"a", "b"}), Catch::StartsWith("one DEFINITION at a time"));
  CHECK_THROWS_WITH(parse({"--bogus", "a"}), Catch::Contains("bogus"));
  CHECK_THROWS_WITH(parse({"--progress", "often", "a"}),
                    "--progress: \"often\" is not one of auto, always, never");
  for (auto [word, mode] : {std::pair{"auto", progress_mode::automatic},
                            {"always", progress_mode::always},
                            {"never", progress_mode::never}})
    CHECK(parse({"--progress", word, "a"}).progress == mode);
  CHECK_THROWS_WITH(parse({"--source-date-epoch", "-5", "a"}),
                    Catch::StartsWith("--source-date-epoch: \"-5\""));
  CHECK_THROWS_WITH(parse_epoch("99999999999", "SOURCE_DATE_EPOCH"),
                    Catch::StartsWith("SOURCE_DATE_EPOCH: "));
}

TEST_CASE("run steps take an argv array or a shell line for /bin/sh -c", "[unit]") {
  const definition def = parse_definition(R"({"name": "w", "from": "scratch",
    "build": [{"run": ["/bin/touch", "/a b"]}, {"run": "echo hi > /x"}],
    "run": {"command": ["x"]}})",
                                          "element.json");
  REQUIRE(def.build.size() == 2);
  REQUIRE(def.build[0].run);
  CHECK_FALSE(def.build[0].copy);
  CHECK(def.build[0].run->argv == std::vector<std::string>{"/bin/touch", "/a b"});
  CHECK(def.build[1].run->argv == std::vector<std::string>{"/bin/sh", "-c", "echo hi > /x"});
  CHECK(def.build[1].summary == "run echo hi > /x");
  // The cache key's part: the same step written with other spacing is the same step.
  CHECK(def.build[0].canonical == R"({"run":["/bin/touch","/a b"]})");
}
