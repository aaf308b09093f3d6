// builder/ has a cli.hpp too, and both folders are on the tests' include path.
#include "runtime/cli/cli.hpp"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "elements/error.hpp"

using namespace elements::runtime;
using nlohmann::json;

namespace {

// A temporary folder, removed at the end of the test.
struct temp_dir {
  std::string path;
  temp_dir() {
    char tmpl[] = "/tmp/elements-cli-test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    // Tests make folders without any permission; an unprivileged run must
    // open them up again before it can remove them.
    std::error_code ec;
    open_up(path, ec);
    std::filesystem::remove_all(path, ec);
  }
  static void open_up(const std::filesystem::path& p, std::error_code& ec) {
    std::filesystem::permissions(p, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ec);
    if (!std::filesystem::is_directory(std::filesystem::symlink_status(p, ec))) return;
    for (const auto& e : std::filesystem::directory_iterator(p, ec)) open_up(e.path(), ec);
  }
  std::string make(const std::string& name) const {
    std::string p = path + "/" + name;
    std::filesystem::create_directories(p);
    return p;
  }
};

// The DESIGN.md example, with a bind source that exists under `root`.
elements::spec web_spec() {
  return elements::parse_spec(R"({
    "version": 1, "name": "web", "description": "Serve a folder over HTTP",
    "command": ["/bin/httpd", "-f", "-h", "/srv", "-p", "${port}"],
    "args": [
      {"name": "docroot", "positional": true, "bind": "/srv", "readOnly": true, "help": "folder to serve"},
      {"name": "port", "short": "p", "env": "PORT", "type": "int", "default": "8080", "help": "port to listen on"},
      {"name": "verbose", "short": "v", "env": "VERBOSE", "type": "bool"},
      {"name": "quiet", "short": "q", "env": "QUIET", "type": "bool"},
      {"name": "data", "short": "d", "bind": "/data"},
      {"name": "instance", "short": "n", "instance": true},
      {"name": "output", "short": "o", "output": true}
    ],
    "extraArgs": true,
    "env": {"GREETING": "hello", "TZ": "${TZ:-UTC}", "RETRIES": {"value": "${RETRIES:-3}", "type": "int"}},
    "passEnv": ["LANG", "DISPLAY"],
    "ps1Color": 27
  })"_json);
}

elements::spec spec_of(json doc) {
  if (!doc.contains("version")) doc["version"] = 1;
  if (!doc.contains("name")) doc["name"] = "app";
  if (!doc.contains("command")) doc["command"] = {"/bin/app"};
  return elements::parse_spec(doc);
}

host_context host(std::vector<std::string> env = {"HOME=/home/u", "TERM=xterm-256color",
                                                  "LANG=C.UTF-8", "SECRET=hunter2"}) {
  host_context h;
  h.environ = std::move(env);
  h.cwd = "/home/u/work";
  h.argv0 = "./web.AppImage";
  return h;
}

invocation parse(const elements::spec& s, std::vector<std::string> args,
                 const host_context& h = host()) {
  return parse_command_line(s, args, h);
}

// The usage error parse throws, or "(no error)"; checks it is exit status 2.
std::string usage_of(const elements::spec& s, std::vector<std::string> args,
                     const host_context& h = host()) {
  try {
    parse_command_line(s, args, h);
  } catch (const elements::error& e) {
    CHECK(e.status() == elements::exit_usage);
    return e.what();
  }
  return "(no error)";
}

std::optional<std::string> env_of(const plan& p, const std::string& name) {
  for (const auto& e : p.env)
    if (e.compare(0, name.size() + 1, name + "=") == 0) return e.substr(name.size() + 1);
  return std::nullopt;
}

bool is_random_instance(const std::string& s, std::size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
         });
}

}  // namespace

TEST_CASE("the simple case: no args gives the command and a clean environment", "[unit][cli]") {
  auto s = spec_of({{"name", "hello"}, {"command", {"/bin/echo", "hi ${ELEMENTS_NAME}"}}});
  auto inv = parse(s, {});
  REQUIRE(inv.what == action::run);
  const plan& p = inv.run;
  CHECK(p.argv == std::vector<std::string>{"/bin/echo", "hi hello"});
  CHECK(p.name == "hello");
  CHECK(is_random_instance(p.instance, 12));
  CHECK(p.id == "hello." + p.instance);
  CHECK(p.hostname == p.id);
  CHECK(p.env == std::vector<std::string>{
                     "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                     "ELEMENTS_ARGV0=./web.AppImage", "ELEMENTS_ID=" + p.id,
                     "ELEMENTS_INSTANCE=" + p.instance, "ELEMENTS_NAME=hello",
                     "ELEMENTS_VERSION=" ELEMENTS_VERSION, "TERM=xterm-256color",
                     "HOSTNAME=" + p.id});
  CHECK_FALSE(inv.debug);
  CHECK_FALSE(p.shell);
  CHECK(p.binds.empty());
  CHECK_FALSE(p.output);
}

TEST_CASE("two runs get different random instances", "[unit][cli]") {
  auto s = spec_of({});
  CHECK(parse(s, {}).run.instance != parse(s, {}).run.instance);
}

TEST_CASE("the spec's settings are copied into the plan", "[unit][cli]") {
  auto s = spec_of({{"workdir", "/srv/${ELEMENTS_NAME}"},
                    {"user", "keep"},
                    {"network", "none"},
                    {"writable", "persist"},
                    {"resolvConf", true},
                    {"hostname", "box-${ELEMENTS_NAME}"},
                    {"ps1Color", 31},
                    {"env", {{"PATH", "/opt/bin"}}}});
  const plan p = parse(s, {}).run;
  CHECK(p.workdir == "/srv/app");
  CHECK(p.user == elements::user_mode::keep);
  CHECK(p.network == elements::network_mode::none);
  CHECK(p.writable == elements::writable_mode::persist);
  CHECK(p.resolv_conf);
  CHECK(p.hostname == "box-app");
  CHECK(env_of(p, "HOSTNAME") == "box-app");
  CHECK(p.ps1_color == 31);
  CHECK(env_of(p, "ELEMENTS_PS1_COLOR") == "31");
  CHECK(env_of(p, "PATH") == "/opt/bin");
}

TEST_CASE("a long hostname is cut to what sethostname takes", "[unit][cli]") {
  auto s = spec_of({{"hostname", std::string(70, 'h')}});
  CHECK(parse(s, {}).run.hostname == std::string(64, 'h'));
}

TEST_CASE("reserved words", "[unit][cli]") {
  auto s = web_spec();
  SECTION("help wins over everything, even bad args") {
    CHECK(parse(s, {"-h"}).what == action::help);
    CHECK(parse(s, {"--bogus", "--help"}).what == action::help);
    CHECK(parse(s, {"--elements-spec", "-h"}).what == action::help);
  }
  SECTION("--help after -- goes to the command") {
    temp_dir t;
    auto inv = parse(s, {t.path, "--", "--help"});
    CHECK(inv.what == action::run);
    CHECK(inv.run.argv.back() == "--help");
  }
  SECTION("--elements-spec") {
    CHECK(parse(s, {"--elements-spec"}).what == action::spec);
  }
  SECTION("--elements-debug, also as ELEMENTS_DEBUG=1") {
    temp_dir t;
    CHECK(parse(s, {"--elements-debug", t.path}).debug);
    auto h = host({"ELEMENTS_DEBUG=1"});
    CHECK(parse(s, {t.path}, h).debug);
    CHECK_FALSE(parse(s, {t.path}, host({"ELEMENTS_DEBUG=0"})).debug);
    CHECK_FALSE(parse(s, {t.path}).debug);
  }
  SECTION("--elements-shell") {
    temp_dir t;
    auto inv = parse(s, {t.path, "--elements-shell"});
    CHECK(inv.what == action::run);
    CHECK(inv.run.shell);
  }
  SECTION("--elements-exec ID -- CMD") {
    auto inv = parse(s, {"--elements-exec", "web.abc", "--", "sh", "-c", "echo --help"});
    CHECK(inv.what == action::exec);
    CHECK(inv.exec_id == "web.abc");
    CHECK(inv.exec_argv == std::vector<std::string>{"sh", "-c", "echo --help"});
    auto eq = parse(s, {"--elements-exec=web.abc", "--", "ls"});
    CHECK(eq.exec_id == "web.abc");
    CHECK(eq.exec_argv == std::vector<std::string>{"ls"});
    CHECK(parse(s, {"--elements-debug", "--elements-exec", "web.abc", "ls"}).exec_argv ==
          std::vector<std::string>{"ls"});
  }
  SECTION("--elements-exec needs an ID and a command") {
    CHECK_THAT(usage_of(s, {"--elements-exec"}),
               Catch::StartsWith("--elements-exec: give the ELEMENTS_ID"));
    CHECK_THAT(usage_of(s, {"--elements-exec", "--", "sh"}),
               Catch::StartsWith("--elements-exec: give the ELEMENTS_ID"));
    CHECK_THAT(usage_of(s, {"--elements-exec", "a/b", "--", "sh"}),
               Catch::StartsWith("--elements-exec: give the ELEMENTS_ID"));
    CHECK(usage_of(s, {"--elements-exec", "web.x", "--"}) ==
          "--elements-exec: give the command to run after -- (--elements-exec web.x -- CMD...)");
    CHECK(usage_of(s, {"-p", "1", "--elements-exec", "web.x", "--", "sh"}) ==
          "-p: --elements-exec takes only an ID and a command");
  }
  SECTION("unknown reserved-looking words are unknown options") {
    CHECK(usage_of(s, {"--elements-bogus"}) == "--elements-bogus: unknown option (see --help)");
    CHECK(usage_of(s, {"--appimage-bogus"}) ==
          "--appimage-bogus: unknown option (see --appimage-help)");
  }
}

TEST_CASE("extra args after --", "[unit][cli]") {
  temp_dir t;
  auto s = web_spec();
  CHECK(
      parse(s, {t.path, "--", "-x", "--", "a b"}).run.argv ==
      std::vector<std::string>{"/bin/httpd", "-f", "-h", "/srv", "-p", "8080", "-x", "--", "a b"});
  CHECK(parse(s, {t.path, "--"}).run.argv.size() == 6);
  auto closed = spec_of({});
  CHECK(parse(closed, {"--"}).run.argv == std::vector<std::string>{"/bin/app"});
  CHECK(usage_of(closed, {"--", "x"}) ==
        "\"x\": this file takes no arguments after -- (see --help)");
}

TEST_CASE("options in every form", "[unit][cli]") {
  temp_dir t;
  auto s = web_spec();
  auto port = [&](std::vector<std::string> args) {
    args.push_back(t.path);
    return env_of(parse(s, args).run, "PORT").value_or("(unset)");
  };
  CHECK(port({}) == "8080");
  CHECK(port({"--port", "1"}) == "1");
  CHECK(port({"--port=2"}) == "2");
  CHECK(port({"-p", "3"}) == "3");
  CHECK(port({"-p4"}) == "4");
  CHECK(port({"-vp5"}) == "5");
  CHECK(port({"-vqp", "6"}) == "6");
  CHECK(port({"-p", "-7"}) == "-7");
  CHECK(port({"--port=+8"}) == "+8");
  CHECK(port({"-p", "1", "--port", "9"}) == "9");  // the last one wins

  auto flags = [&](std::vector<std::string> args) {
    args.push_back(t.path);
    auto p = parse(s, args).run;
    return *env_of(p, "VERBOSE") + *env_of(p, "QUIET");
  };
  CHECK(flags({}) == "00");
  CHECK(flags({"-v"}) == "10");
  CHECK(flags({"-vq"}) == "11");
  CHECK(flags({"-qv"}) == "11");
  CHECK(flags({"--verbose", "--quiet"}) == "11");
  CHECK(flags({"--verbose=no", "--quiet=yes"}) == "01");
  CHECK(flags({"--verbose=TRUE", "--quiet=0"}) == "10");
  CHECK(flags({"--verbose="}) == "00");
}

TEST_CASE("a value-taking option takes the next word whatever it looks like", "[unit][cli]") {
  temp_dir t;
  auto s = spec_of({{"args", {{{"name", "name"}, {"short", "N"}, {"env", "NAME"}}}}});
  CHECK(env_of(parse(s, {"--name", "--x"}).run, "NAME") == "--x");
  CHECK(env_of(parse(s, {"-N", "-v"}).run, "NAME") == "-v");
  CHECK(env_of(parse(s, {"--name="}).run, "NAME") == "");
  CHECK(env_of(parse(s, {"-N=a"}).run, "NAME") == "=a");
  CHECK(env_of(parse(s, {"--name=a=b"}).run, "NAME") == "a=b");
  CHECK(env_of(parse(s, {"-N/a b/c"}).run, "NAME") == "/a b/c");
  CHECK_FALSE(env_of(parse(s, {}).run, "NAME"));  // no default: not set
}

TEST_CASE("positionals in declaration order", "[unit][cli]") {
  auto s =
      spec_of({{"args",
                {{{"name", "src"}, {"positional", true}, {"env", "SRC"}},
                 {{"name", "count"},
                  {"positional", true},
                  {"env", "COUNT"},
                  {"type", "int"},
                  {"default", "1"}},
                 {{"name", "mode"}, {"positional", true}, {"env", "MODE"}, {"required", false}},
                 {{"name", "flag"}, {"short", "f"}, {"env", "FLAG"}, {"type", "bool"}}}}});
  auto p = parse(s, {"a", "-f", "-5", "-"}).run;
  CHECK(env_of(p, "SRC") == "a");
  CHECK(env_of(p, "COUNT") == "-5");  // no short option is a digit, so "-5" is a word
  CHECK(env_of(p, "MODE") == "-");
  CHECK(env_of(p, "FLAG") == "1");
  auto q = parse(s, {"a"}).run;
  CHECK(env_of(q, "COUNT") == "1");
  CHECK_FALSE(env_of(q, "MODE"));
  CHECK(usage_of(s, {}) == "SRC: missing (see --help)");
  CHECK(usage_of(s, {"a", "x"}) == "COUNT: \"x\" is not an integer (see --help)");
  CHECK(usage_of(s, {"a", "1", "m", "extra"}) ==
        "\"extra\": unexpected argument (this file takes 3 at most; see --help)");
  auto none = spec_of({});
  CHECK(usage_of(none, {"x"}) ==
        "\"x\": unexpected argument (this file takes no positional arguments; see --help)");
  auto extra = spec_of({{"extraArgs", true}});
  CHECK(usage_of(extra, {"x"}) ==
        "\"x\": unexpected argument (this file takes no positional arguments; words for the "
        "command go after --)");
}

TEST_CASE("bad input names the argument and the fix", "[unit][cli]") {
  temp_dir t;
  auto s = web_spec();
  CHECK(usage_of(s, {"-p", "abc", t.path}) == "--port: \"abc\" is not an integer (see --help)");
  CHECK(usage_of(s, {"--port=1.5", t.path}) == "--port: \"1.5\" is not an integer (see --help)");
  CHECK(usage_of(s, {"--port=", t.path}) == "--port: \"\" is not an integer (see --help)");
  CHECK(usage_of(s, {t.path, "-p"}) == "-p: needs a value (see --help)");
  CHECK(usage_of(s, {t.path, "--port"}) == "--port: needs a value (see --help)");
  CHECK(usage_of(s, {t.path, "-vp"}) == "-p: needs a value (see --help)");
  CHECK(usage_of(s, {"--prot", "1"}) == "--prot: unknown option (did you mean --port?)");
  CHECK(usage_of(s, {"--verbos"}) == "--verbos: unknown option (did you mean --verbose?)");
  CHECK(usage_of(s, {"--zzzzzz"}) == "--zzzzzz: unknown option (see --help)");
  CHECK(usage_of(s, {"-x"}) == "-x: unknown option (see --help)");
  CHECK(usage_of(s, {"-vx"}) == "-x: unknown option (see --help)");
  CHECK(usage_of(s, {"--docroot", "/"}) == "--docroot: unknown option (see --help)");
  CHECK(usage_of(s, {"--verbose=maybe", t.path}) ==
        "--verbose: \"maybe\" is not true or false (see --help)");
  CHECK(usage_of(s, {}) == "DOCROOT: missing (folder to serve; see --help)");
  CHECK(
      usage_of(s, {t.path, t.path}) ==
      "\"" + t.path +
          "\": unexpected argument (this file takes 1 at most; words for the command go after --)");
  CHECK(
      usage_of(s, {"-n", "a/b", t.path}) ==
      "--instance: \"a/b\" is not an instance name (use letters, digits, _ + . - and % for random "
      "characters)");
  CHECK(usage_of(s, {"-n", "..", t.path}) ==
        "--instance: \"..\" is not an instance name (use letters, digits, _ + . - and % for random "
        "characters)");
  CHECK(usage_of(s, {"-o", "", t.path}) ==
        "--output: needs a path, not an empty word (see --help)");
}

TEST_CASE("required options", "[unit][cli]") {
  auto s = spec_of(
      {{"args",
        {{{"name", "token"}, {"env", "TOKEN"}, {"required", true}, {"help", "API token"}}}}});
  CHECK(usage_of(s, {}) == "--token: required (API token; see --help)");
  CHECK(env_of(parse(s, {"--token", "t"}).run, "TOKEN") == "t");
}

TEST_CASE("types: str stays, path becomes absolute", "[unit][cli]") {
  auto s = spec_of({{"args",
                     {{{"name", "file"}, {"env", "FILE"}, {"type", "path"}},
                      {{"name", "text"}, {"env", "TEXT"}}}}});
  auto p = parse(s, {"--file", "./a/./b//c", "--text", "./x y"}).run;
  CHECK(env_of(p, "FILE") == "/home/u/work/a/b/c");
  CHECK(env_of(p, "TEXT") == "./x y");
  CHECK(env_of(parse(s, {"--file=/etc/../x"}).run, "FILE") == "/etc/../x");
  CHECK(env_of(parse(s, {"--file=.."}).run, "FILE") == "/home/u/work/..");
  CHECK(usage_of(s, {"--file="}) == "--file: needs a path, not an empty word (see --help)");
}

TEST_CASE("bind args: the host path is made absolute and must be readable", "[unit][cli]") {
  temp_dir t;
  t.make("site");
  auto s = web_spec();
  auto h = host();
  h.cwd = t.path;
  auto p = parse(s, {"./site", "-d", t.path}, h).run;
  REQUIRE(p.binds.size() == 2);
  CHECK(p.binds[0].source == t.path + "/site");
  CHECK(p.binds[0].target == "/srv");
  CHECK(p.binds[0].read_only);
  CHECK(p.binds[1].source == t.path);
  CHECK(p.binds[1].target == "/data");
  CHECK_FALSE(p.binds[1].read_only);
  CHECK(usage_of(s, {"nope"}, h) ==
        "DOCROOT: \"" + t.path + "/nope\" does not exist (give an existing file or folder)");
  CHECK(usage_of(s, {"site", "-d", "/nonexistent/x"}, h) ==
        "--data: \"/nonexistent/x\" does not exist (give an existing file or folder)");
}

TEST_CASE("check_host_path refuses what the caller cannot read", "[unit][cli]") {
  temp_dir t;
  std::string file = t.path + "/f";
  std::ofstream(file) << "x";
  CHECK_NOTHROW(check_host_path(file, "--data"));
  CHECK_NOTHROW(check_host_path(t.path, "--data"));
  CHECK_THROWS_WITH(
      check_host_path(file + "/sub", "--data"),
      "--data: \"" + file + "/sub\" does not exist (give an existing file or folder)");
  if (::geteuid() == 0) {
    WARN("skipped the unreadable cases: root reads everything");
    return;
  }
  ::chmod(file.c_str(), 0);
  CHECK_THROWS_WITH(check_host_path(file, "--data"),
                    "--data: \"" + file + "\" is not readable by you (check its permissions)");
  std::string dir = t.make("d");
  ::chmod(dir.c_str(), 0);
  CHECK_THROWS_WITH(check_host_path(dir, "X"),
                    "X: \"" + dir + "\" is not readable by you (check its permissions)");
}

TEST_CASE("spec binds: expanded, made absolute, source must exist", "[unit][cli]") {
  temp_dir t;
  std::ofstream(t.path + "/site.conf") << "x";
  auto s = spec_of({{"args", {{{"name", "docroot"}, {"positional", true}, {"bind", "/srv"}}}},
                    {"binds",
                     {{{"source", "${docroot}/site.conf"},
                       {"target", "/etc/${ELEMENTS_NAME}.conf"},
                       {"readOnly", true}},
                      {{"source", "${HOME:-/}"}, {"target", "/home"}}}}});
  auto h = host({"HOME=" + t.path});
  auto p = parse(s, {t.path}, h).run;
  REQUIRE(p.binds.size() == 3);
  CHECK(p.binds[0].target == "/srv");
  CHECK(p.binds[1].source == t.path + "/site.conf");
  CHECK(p.binds[1].target == "/etc/app.conf");
  CHECK(p.binds[1].read_only);
  CHECK(p.binds[2].source == t.path);
  CHECK_FALSE(p.binds[2].read_only);
  std::string empty = t.make("empty");
  CHECK(usage_of(s, {empty}, h) ==
        "/binds/0/source: \"" + empty +
            "/site.conf\" does not exist (give an existing file or folder)");
}

TEST_CASE("the instance: given, with % made random, or random", "[unit][cli]") {
  temp_dir t;
  auto s = web_spec();
  auto p = parse(s, {"-n", "blue", t.path}).run;
  CHECK(p.instance == "blue");
  CHECK(p.id == "web.blue");
  CHECK(p.hostname == "web.blue");
  CHECK(env_of(p, "ELEMENTS_INSTANCE") == "blue");
  CHECK(env_of(p, "ELEMENTS_ID") == "web.blue");

  auto r = parse(s, {"--instance=job-%", t.path}).run;
  REQUIRE(r.instance.size() == 4 + 8);
  CHECK(r.instance.compare(0, 4, "job-") == 0);
  CHECK(is_random_instance(r.instance.substr(4), 8));
  CHECK(parse(s, {"-n", "%.%", t.path}).run.instance.size() == 17);

  auto d = spec_of({{"args",
                     {{{"name", "instance"},
                       {"short", "n"},
                       {"instance", true},
                       {"default", "${USER:-me}-%"}}}}});
  auto q = parse(d, {}, host({"USER=ann"})).run;
  CHECK(q.instance.compare(0, 4, "ann-") == 0);
  CHECK(q.instance.size() == 12);
}

TEST_CASE("the output arg gives an absolute host path", "[unit][cli]") {
  temp_dir t;
  auto s = web_spec();
  host_context h = host();
  h.cwd = t.path;
  CHECK(parse(s, {"-o", "out", t.path}, h).run.output == t.path + "/out");
  CHECK(parse(s, {"--output=/tmp/x", t.path}).run.output == "/tmp/x");
  CHECK_FALSE(parse(s, {t.path}).run.output);
  // /out lands beside the destination: its folder must exist.
  CHECK_THROWS_WITH(
      parse(s, {"-o", "missing/out", t.path}, h),
      "--output: the folder \"" + t.path + "/missing\" does not exist (create it first)");
}

TEST_CASE("the environment: spec env, passEnv, args, runtime variables, in order", "[unit][cli]") {
  temp_dir t;
  auto s = web_spec();
  auto p = parse(s, {"-v", "-n", "x", t.path},
                 host({"TERM=vt100", "LANG=de_DE.UTF-8", "TZ=Europe/Paris", "SECRET=1"}))
               .run;
  // nlohmann::json keeps object keys sorted, so env comes in name order.
  CHECK(p.env == std::vector<std::string>{
                     "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                     "GREETING=hello", "RETRIES=3", "TZ=Europe/Paris", "LANG=de_DE.UTF-8",
                     "PORT=8080", "VERBOSE=1", "QUIET=0", "ELEMENTS_ARGV0=./web.AppImage",
                     "ELEMENTS_ID=web.x", "ELEMENTS_INSTANCE=x", "ELEMENTS_NAME=web",
                     "ELEMENTS_VERSION=" ELEMENTS_VERSION, "TERM=vt100", "HOSTNAME=web.x",
                     "ELEMENTS_PS1_COLOR=27"});
  auto q = parse(s, {"-n", "x", t.path}, host({})).run;
  CHECK(env_of(q, "TZ") == "UTC");
  CHECK_FALSE(env_of(q, "LANG"));
  CHECK_FALSE(env_of(q, "DISPLAY"));
  CHECK_FALSE(env_of(q, "TERM"));
  CHECK_FALSE(env_of(q, "SECRET"));
}

TEST_CASE("typed spec env values are checked once expanded", "[unit][cli]") {
  auto s = spec_of({{"env",
                     {{"RETRIES", {{"value", "${RETRIES:-3}"}, {"type", "int"}}},
                      {"DEBUG", {{"value", "${DEBUG-}"}, {"type", "bool"}}},
                      {"DIR", {{"value", "${DIR:-.}"}, {"type", "path"}}}}}});
  auto p = parse(s, {}, host({})).run;
  CHECK(env_of(p, "RETRIES") == "3");
  CHECK(env_of(p, "DEBUG") == "0");
  CHECK(env_of(p, "DIR") == "/home/u/work");
  CHECK(env_of(parse(s, {}, host({"DEBUG=Yes"})).run, "DEBUG") == "1");
  CHECK(usage_of(s, {}, host({"RETRIES=many"})) == "/env/RETRIES: \"many\" is not an integer");
  CHECK(usage_of(s, {}, host({"DEBUG=maybe"})) ==
        "/env/DEBUG: \"maybe\" is not true/1/yes or false/0/no");
}

TEST_CASE("an arg's variable wins over the spec env of the same name", "[unit][cli]") {
  auto s = spec_of({{"env", {{"PORT", "1"}, {"LANG", "C"}}},
                    {"passEnv", {"LANG"}},
                    {"args", {{{"name", "port"}, {"env", "PORT"}}}}});
  CHECK(env_of(parse(s, {}).run, "PORT") == "1");
  CHECK(env_of(parse(s, {"--port", "2"}).run, "PORT") == "2");
  CHECK(env_of(parse(s, {}).run, "LANG") == "C.UTF-8");
  CHECK(env_of(parse(s, {}, host({})).run, "LANG") == "C");
}

TEST_CASE("names resolve to args, then ELEMENTS_*, then the host", "[unit][cli]") {
  temp_dir t;
  auto s = spec_of({{"command",
                     {"/bin/app", "${greeting}", "${dry_run:+--dry-run}", "${HOME}",
                      "${ELEMENTS_ID}", "${unset_arg:-none}", "${NOPE}"}},
                    {"args",
                     {{{"name", "greeting"}, {"env", "G"}, {"default", "hi ${USER:-you}"}},
                      {{"name", "dry-run"}, {"env", "DRY"}, {"type", "bool"}},
                      {{"name", "unset_arg"}, {"env", "U"}},
                      {{"name", "instance"}, {"instance", true}, {"default", "i"}}}}});
  auto p = parse(s, {}, host({"HOME=/h", "greeting=host", "USER=ann"})).run;
  CHECK(p.argv == std::vector<std::string>{"/bin/app", "hi ann", "", "/h", "app.i", "none", ""});
  CHECK(parse(s, {"--dry-run", "--greeting", "$HOME"}, host({})).run.argv ==
        std::vector<std::string>{"/bin/app", "$HOME", "--dry-run", "", "app.i", "none", ""});
}

TEST_CASE("${NAME:?message} speaks to the user", "[unit][cli]") {
  auto s = spec_of({{"env", {{"TOKEN", "${TOKEN:?set TOKEN to your API token}"}}}});
  CHECK(usage_of(s, {}, host({})) == "TOKEN: set TOKEN to your API token");
  CHECK(env_of(parse(s, {}, host({"TOKEN=t"})).run, "TOKEN") == "t");
}

TEST_CASE("the command must not expand to nothing", "[unit][cli]") {
  auto s = spec_of({{"command", {"${PROG}"}}});
  CHECK(usage_of(s, {}, host({})) == "/command/0: the program to run is empty after expansion");
  CHECK(parse(s, {}, host({"PROG=/bin/x"})).run.argv == std::vector<std::string>{"/bin/x"});
}

TEST_CASE("help lists the description, usage, every arg and the reserved options", "[unit][cli]") {
  auto s = web_spec();
  std::string h = help_text(s, "/home/u/web.AppImage");
  CHECK_THAT(
      h, Catch::StartsWith(
             "Serve a folder over HTTP\n\nUsage: web.AppImage [OPTIONS] DOCROOT [-- ARGS...]\n"));
  CHECK_THAT(
      h, Catch::Contains(
             "  DOCROOT              folder to serve (host path, mounted read-only at /srv)\n"));
  CHECK_THAT(h,
             Catch::Contains(
                 "  -p, --port PORT      port to listen on (integer, default 8080; sets $PORT)\n"));
  CHECK_THAT(h, Catch::Contains("  -v, --verbose        (sets $VERBOSE to 1)\n"));
  CHECK_THAT(h, Catch::Contains("  -d, --data PATH      (host path, mounted at /data)\n"));
  CHECK_THAT(h, Catch::Contains("  -n, --instance NAME  instance name (default random;"));
  CHECK_THAT(h, Catch::Contains("  -o, --output PATH    where the output goes"));
  CHECK_THAT(h, Catch::Contains("  -h, --help           show this help and exit\n"));
  for (const char* reserved :
       {"--elements-shell", "--elements-spec", "--elements-exec ID -- CMD...", "--elements-debug",
        "--appimage-extract [PATTERN]", "--appimage-extract-and-run", "--appimage-mount",
        "--appimage-offset", "--appimage-help", "--appimage-version",
        "--appimage-updateinformation", "--appimage-signature"})
    CHECK_THAT(h, Catch::Contains(std::string("  ") + reserved + " "));
  for (std::size_t start = 0, end; (end = h.find('\n', start)) != std::string::npos;
       start = end + 1) {
    INFO(h.substr(start, end - start));
    CHECK(end - start <= 80);
  }
}

TEST_CASE("help: optional positionals, no extra args, and the file's name", "[unit][cli]") {
  auto s = spec_of({{"name", "tool"},
                    {"args",
                     {{{"name", "in"}, {"positional", true}, {"env", "IN"}},
                      {{"name", "out"},
                       {"positional", true},
                       {"env", "OUT"},
                       {"type", "path"},
                       {"default", "."}},
                      {{"name", "token"}, {"env", "TOKEN"}, {"required", true}},
                      {{"name", "level"}, {"env", "LEVEL"}, {"default", ""}}}}});
  std::string h = help_text(s, "");
  CHECK_THAT(h, Catch::StartsWith("Usage: tool.AppImage [OPTIONS] IN [OUT]\n"));
  CHECK_THAT(h, Catch::Contains("  OUT ") && Catch::Contains("(path, default .; sets $OUT)"));
  CHECK_THAT(h, Catch::Contains("      --token TOKEN ") &&
                    Catch::Contains("(text; sets $TOKEN; required)"));
  CHECK_THAT(h, Catch::Contains("(text, default \"\"; sets $LEVEL)"));
  CHECK_THAT(help_text(s, "/x/renamed"), Catch::StartsWith("Usage: renamed [OPTIONS]"));
}
