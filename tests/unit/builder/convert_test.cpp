#include "builder/definition/convert.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "builder/cli.hpp"
#include "elements/error.hpp"
#include "elements/expand.hpp"
#include "test_support.hpp"

using namespace elements;
using namespace elements::builder;
using builder_test::temp_dir;
using builder_test::write_file;
using nlohmann::ordered_json;

namespace {

// The message a .def is refused with, checking it is a usage error; "" when accepted.
std::string refusal(const std::string& text, const std::filesystem::path& file = "web.def") {
  try {
    convert_def(text, file);
  } catch (const error& e) {
    CHECK(e.status() == exit_usage);
    return e.what();
  }
  return "";
}

// A body the runtime must hand to the shell unchanged.
std::string expanded(const std::string& text) {
  return expand(text, [](std::string_view name) -> std::optional<std::string> {
    FAIL("looked up $" << name << ": an escaped body must expand to itself");
    return std::nullopt;
  });
}

}  // namespace

TEST_CASE("a .def with every key and section converts to the exact element.json", "[unit]") {
  temp_dir dir;
  std::filesystem::create_directories(dir / "rootfs");
  write_file(dir / "files/site.conf", "x\n");
  write_file(dir / "files/my page.html", "<p>\n");
  const std::string def = R"(# Migrated from the Elements prototype.
Bootstrap: localimage
From: rootfs
IncludeCmd: yes
#Elements.name: web
#Elements.description: Serve a folder over HTTP
#Elements.arg: docroot --positional --bind /srv --ro --help "folder to serve"
#Elements.arg: port -p --env PORT --type int --default 8080 --help 'port to listen on'
#Elements.args: verbose -v --env VERBOSE --type bool
#Elements.arg: name -n --instance
#Elements.arg: out -o --output --required
#Elements.arg: conf --positional --bind /etc/site.d --optional
#Elements.env: GREETING=hello ${USER:-you}
#Elements.bind: /etc/localtime:/etc/localtime:ro
#Elements.bind: /var/cache/web
#Elements.bind: /tmp/web:/tmp/web:rw
#Elements.pass-env: LANG DISPLAY
#Elements.resolv: yes
#Elements.root-copyup: true
#Elements.network: none
#Elements.ps1-color: 27
#Elements.workdir: /srv
#Elements.user: keep
#Elements.hostname: web-${ELEMENTS_INSTANCE}
#Elements.extra-args: true

%setup
    touch ${SINGULARITY_ROOTFS}/x
%files
    files/site.conf /etc/site.conf
    'files/my page.html'
    files/site.conf ./etc/web/
    # not a copy
%post -c /bin/bash
    adduser -D web
%post
    echo "$HOME"
%environment
    export LANG=C.UTF-8 TZ='Europe/Paris'
    MOTD="cost: \$5"
%runscript
    exec httpd -f -p "$PORT" -h /srv "$@"
%startscript
    httpd
%test
    true
%labels
    Author me
%help
    Serves.
%apprun tool
    tool
)";
  const conversion c = convert_def(def, dir / "web.def");
  const ordered_json expected = ordered_json::parse(R"({
  "name": "web",
  "from": "dir:rootfs",
  "build": [
    {"copy": "files/site.conf", "to": "/etc/site.conf"},
    {"copy": "files/my page.html", "to": "/files/my page.html"},
    {"copy": "files/site.conf", "to": "/etc/web/"},
    {"run": ["/bin/bash", "-c", "    adduser -D web"]},
    {"run": ["/bin/sh", "-c", "    echo \"$HOME\""]}
  ],
  "run": {
    "description": "Serve a folder over HTTP",
    "command": ["/bin/sh", "-c", "    exec httpd -f -p \"$$PORT\" -h /srv \"$$@\"", "web"],
    "workdir": "/srv",
    "user": "keep",
    "args": [
      {"name": "docroot", "positional": true, "bind": "/srv", "readOnly": true,
       "help": "folder to serve"},
      {"name": "port", "short": "p", "env": "PORT", "type": "int", "default": "8080",
       "help": "port to listen on"},
      {"name": "verbose", "short": "v", "env": "VERBOSE", "type": "bool"},
      {"name": "name", "short": "n", "instance": true},
      {"name": "out", "short": "o", "output": true, "required": true},
      {"name": "conf", "positional": true, "bind": "/etc/site.d", "required": false}
    ],
    "extraArgs": true,
    "env": {"GREETING": "hello ${USER:-you}", "LANG": "C.UTF-8", "TZ": "Europe/Paris",
            "MOTD": "cost: $$5"},
    "passEnv": ["LANG", "DISPLAY"],
    "binds": [
      {"source": "/etc/localtime", "target": "/etc/localtime", "readOnly": true},
      {"source": "/var/cache/web", "target": "/var/cache/web"},
      {"source": "/tmp/web", "target": "/tmp/web"}
    ],
    "resolvConf": true,
    "network": "none",
    "writable": "tmpfs",
    "hostname": "web-${ELEMENTS_INSTANCE}",
    "ps1Color": 27
  }
})");
  // Compared as printed, so the field order is checked too.
  CHECK(c.element.dump(2) == expected.dump(2));
  const std::string f = (dir / "web.def").native();
  CHECK(c.warnings == std::vector<std::string>{
                          f + ":4: header \"IncludeCmd:\" is ignored (elements-pack reads "
                              "Bootstrap: and From:)",
                          f + ":27: %setup is ignored: it ran on the host at build time; prepare "
                              "the rootfs before packing",
                          f + ":43: %startscript is ignored: there is no background instance; "
                              "the file runs %runscript",
                          f + ":45: %test is ignored: there is no test step; run the file's own "
                              "tests after packing",
                          f + ":47: %labels is ignored: elements has no labels",
                          f + ":49: %help is ignored: --help is made from "
                              "#Elements.description and the args' --help",
                          f + ":51: %apprun is ignored: an element is one app (convert each app "
                              "on its own)",
                      });
}

TEST_CASE("Bootstrap and From become the definition's source", "[unit]") {
  temp_dir dir;
  std::filesystem::create_directories(dir / "rootfs");
  const auto file = dir / "web.def";
  const std::string f = file.native();
  const std::string runscript = "#Elements.name: web\n%runscript\n  true\n";
  auto from = [&](const std::string& header, const std::string& body) {
    return convert_def(header + body, file);
  };

  SECTION("local folders and tarballs") {
    CHECK(from("Bootstrap: localimage\nFrom: rootfs\n", runscript).element["from"] == "dir:rootfs");
    for (const char* tar : {"r.tar", "r.tar.gz", "r.tgz", "r.tar.zst", "r.tar.xz"}) {
      const auto c = from(std::string("bootstrap: LocalImage\nfrom: ") + tar + "\n", runscript);
      CHECK(c.element["from"] == std::string("tar:") + tar);
      CHECK(c.warnings.empty());
    }
    const auto missing = from("Bootstrap: localimage\nFrom: gone\n", runscript);
    CHECK(missing.element["from"] == "dir:gone");
    CHECK(missing.warnings ==
          std::vector<std::string>{f + ":2: From: gone is not a folder beside web.def yet; create "
                                       "it or pass --from SOURCE to elements-pack"});
  }
  SECTION("saved images give the command when there is no %runscript") {
    const auto oci = from("Bootstrap: oci\nFrom: images/alpine:3.19\n", "#Elements.name: web\n");
    CHECK(oci.element["from"] == "oci:images/alpine:3.19");
    CHECK_FALSE(oci.element["run"].contains("command"));
    CHECK(oci.warnings.empty());
    CHECK(from("Bootstrap: docker-archive\nFrom: alpine.tar\n", "#Elements.name: web\n")
              .element["from"] == "docker-archive:alpine.tar");
    CHECK(from("Bootstrap: scratch\n", runscript).element["from"] == "scratch");
  }
  SECTION("registry images are named where skopeo saves them") {
    const auto c = from("Bootstrap: docker\nFrom: alpine:3.19\n", runscript);
    CHECK(c.element["from"] == "oci:images/alpine:3.19");
    CHECK(c.warnings == std::vector<std::string>{
                            f + ":1: elements-pack does not pull images; save it with skopeo copy "
                                "docker://alpine:3.19 oci:images/alpine:3.19 beside web.def"});
    CHECK(from("Bootstrap: docker\nFrom: docker.io/bitnami/nginx\n", runscript).element["from"] ==
          "oci:images/nginx:latest");
    CHECK(from("Bootstrap: docker\nFrom: localhost:5000/tools/app:1.2\n", runscript)
              .element["from"] == "oci:images/app:1.2");
    CHECK(from("Bootstrap: docker\nFrom: alpine@sha256:0123\n", runscript).element["from"] ==
          "oci:images/alpine");
    const auto lib = from("Bootstrap: library\nFrom: library/default/alpine:3.19\n", runscript);
    CHECK(lib.element["from"] == "oci:images/alpine:3.19");
    REQUIRE(lib.warnings.size() == 1);
    CHECK_THAT(lib.warnings[0], Catch::Contains("skopeo copy docker://alpine:3.19 "
                                                "oci:images/alpine:3.19 beside web.def (or another "
                                                "OCI copy of the library image)"));
  }
  SECTION("no Bootstrap leaves the source to --from") {
    const auto c = from("", runscript);
    CHECK_FALSE(c.element.contains("from"));
    CHECK(c.warnings == std::vector<std::string>{
                            f + ": no Bootstrap: header; pass --from SOURCE to elements-pack"});
  }
  SECTION("the name defaults to the file's") {
    const auto c = convert_def("Bootstrap: scratch\n%runscript\n  true\n", dir / "hello.def");
    CHECK(c.element["name"] == "hello");
    CHECK(c.element["run"]["command"][3] == "hello");
    CHECK(c.warnings == std::vector<std::string>{(dir / "hello.def").native() +
                                                 ": no #Elements.name; the element is named "
                                                 "\"hello\" after the file"});
  }
}

TEST_CASE("a line convert cannot understand is named with its number and the fix", "[unit]") {
  const std::string head = "Bootstrap: scratch\n#Elements.name: web\n";  // lines 1-2
  const std::string tail = "%runscript\n  true\n";
  struct refused {
    std::string def;
    std::string message;
    std::filesystem::path file = "web.def";
  };
  const std::vector<refused> cases = {
      {head + "#Elements.nmae: web\n" + tail,
       "web.def:3: unknown key #Elements.nmae (known: name, description, arg, env, bind, "
       "pass-env, resolv, root-copyup, network, ps1-color, workdir, user, hostname, extra-args)"},
      {head + "#Elements.network none\n" + tail,
       "web.def:3: #Elements.network none: missing \":\" (write #Elements.KEY: VALUE)"},
      {head + "# Elements.network: none\n" + tail,
       "web.def:3: \"# Elements.network: none\" would be a plain comment; write "
       "#Elements.KEY: VALUE to the letter"},
      {head + "#Elements.description:\n" + tail, "web.def:3: #Elements.description: needs a value"},
      {head + "#Elements.name: www\n" + tail,
       "web.def:3: #Elements.name: given twice (first on line 2); keep one"},
      {head + "#Elements.resolv: maybe\n" + tail,
       "web.def:3: #Elements.resolv: \"maybe\" is not true or false"},
      {head + "#Elements.ps1-color: 123\n" + tail,
       "web.def:3: #Elements.ps1-color: \"123\" is not a number from 0 to 99 (tens: intensity, "
       "units: colour)"},
      {head + "#Elements.env: GREETING\n" + tail, "web.def:3: #Elements.env: write NAME=VALUE"},
      {head + "#Elements.bind: /a:/b:rx\n" + tail,
       "web.def:3: #Elements.bind: unknown option \"rx\" (ro or rw)"},
      {head + "#Elements.bind: /a:/b:ro:x\n" + tail,
       "web.def:3: #Elements.bind: write SRC[:DST[:ro|rw]]"},
      {head + "#Elements.arg: --port\n" + tail,
       "web.def:3: #Elements.arg: start with the arg's name (such as \"port -p --env PORT\")"},
      {head + "#Elements.arg: port --env\n" + tail,
       "web.def:3: #Elements.arg port: --env needs a value"},
      {head + "#Elements.arg: port -p\n" + tail,
       "web.def:3: #Elements.arg port: give exactly one of --env VAR, --bind PATH, --instance, "
       "--output (what the value does)"},
      {head + "#Elements.arg: port --env PORT --output\n" + tail,
       "web.def:3: #Elements.arg port: give exactly one of --env VAR, --bind PATH, --instance, "
       "--output (what the value does)"},
      {head + "#Elements.arg: port --env PORT --ro --ro\n" + tail,
       "web.def:3: #Elements.arg port: --ro given twice"},
      {head + "#Elements.arg: port --env PORT --colour\n" + tail,
       "web.def:3: #Elements.arg port: unknown flag \"--colour\" (expected -X, --positional, "
       "--env VAR, --bind PATH, --instance, --output, --ro, --type TYPE, --default VALUE, "
       "--required, --optional, --help TEXT)"},
      {head + "#Elements.arg: port --env PORT --help \"unclosed\n" + tail,
       "web.def:3: #Elements.arg: a quote is not closed"},
      // What the builder's own loader refuses, traced back to its line.
      {head + "#Elements.arg: port --env PORT --type float\n" + tail,
       "web.def:3: #Elements.arg: /run/args/0/type: must be one of str, int, bool, path"},
      {head + "#Elements.arg: a --env A\n#Elements.arg: port --env PORT --type int --default x\n" +
           tail,
       "web.def:4: #Elements.arg: /run/args/1/default: \"x\" is not an integer, as the type is "
       "int"},
      {head + "#Elements.network: wifi\n" + tail,
       "web.def:3: #Elements.network: /run/network: must be one of host, none"},
      {"Bootstrap: scratch\n#Elements.name: my web\n" + tail,
       "web.def:2: #Elements.name: /name: must match [0-9A-Za-z_+.-]+ (it names the file, "
       "NAME.AppImage)"},
      {head + "#Elements.env: ELEMENTS_X=1\n" + tail,
       "web.def:3: #Elements.env: /run/env/ELEMENTS_X: is set by the runtime; choose another name"},
      {head + "%environment\n  export 1X=2\n" + tail,
       "web.def:4: %environment: /run/env/1X: is not an environment variable name"},
      {head + "#Elements.user: nobody\n" + tail,
       "web.def:3: #Elements.user: /run/user: must be one of root, keep"},
      // The header and the sections.
      {head + "hello world\n" + tail,
       "web.def:3: cannot understand \"hello world\" in the header (write KEY: VALUE, a # "
       "comment, or start a %section)"},
      {head + "Stage: build\n" + tail,
       "web.def:3: Stage: multi-stage definitions are not converted (build the first stage into "
       "a folder and start from it)"},
      {head + tail + "Bootstrap: scratch\n",
       "web.def:5: a second Bootstrap: starts another build stage; elements-pack converts "
       "one-stage definitions (build the first stage into a folder and start from it)"},
      {head + "%files from build\n" + tail,
       "web.def:3: %files from a stage: multi-stage definitions are not converted"},
      {head + "%post -x\n" + tail,
       "web.def:3: %post: unexpected \"-x\" (the only option is -c SHELL)"},
      {head + "%post -c bash\n" + tail,
       "web.def:3: %post -c: give the shell's absolute path, such as /bin/bash"},
      {head + "%environment yes\n" + tail,
       "web.def:3: %environment: unexpected \"yes\" (it takes no options)"},
      {head + "%environment\n  LANG=C\n  source /etc/profile\n" + tail,
       "web.def:5: %environment: cannot understand \"source /etc/profile\"; write NAME=VALUE or "
       "export NAME=VALUE (no shell runs these lines)"},
      {head + "%environment\n  export A=\"x\n" + tail,
       "web.def:4: %environment: a quote is not closed"},
      {head + "%files\n  a b c\n" + tail,
       "web.def:4: %files: write SRC [DEST], one copy a line (quote a path with blanks)"},
      {head + "%files\n  *.conf /etc/\n" + tail,
       "web.def:4: %files: \"*.conf\": wildcards are not expanded; list each file or its folder"},
      {head + "%files\n  site.conf /etc/site.conf\n" + tail,
       "web.def:4: %files: /build/0/copy: site.conf: No such file or directory (paths are "
       "relative to the folder of web.def)"},
      {head + tail + "%runscript\n  false\n",
       "web.def:5: %runscript given twice (first on line 3); keep one"},
      {head + "%bogus\n" + tail,
       "web.def:3: unknown section %bogus (expected %files, %post, %environment, %runscript, or "
       "one that is ignored: %labels, %help, %test, %setup, %startscript)"},
      {head + "%\n" + tail, "web.def:3: a section line is %NAME, such as %post or %runscript"},
      // Sources.
      {"Bootstrap: debootstrap\nFrom: bookworm\n" + tail,
       "web.def:1: Bootstrap: debootstrap: elements-pack starts from a folder, a tarball or a "
       "saved image (make the rootfs first, then write Bootstrap: localimage and From: its "
       "folder)"},
      {"Bootstrap: docker\n" + tail,
       "web.def:1: Bootstrap: docker needs a From: line naming the image"},
      {"From: rootfs\n" + tail, "web.def:1: From: without Bootstrap: (add Bootstrap: localimage)"},
      {"Bootstrap: localimage\nFrom: app.sif\n" + tail,
       "web.def:2: From: app.sif: elements-pack reads folders and tarballs, not SIF images "
       "(unpack it with apptainer build --sandbox rootfs app.sif and write From: rootfs)"},
      {"Bootstrap: docker\nBootstrap: docker\n" + tail,
       "web.def:2: a second Bootstrap: starts another build stage; elements-pack converts "
       "one-stage definitions (build the first stage into a folder and start from it)"},
      {"Bootstrap: scratch\nFrom: a\nFrom: b\n" + tail,
       "web.def:3: From: given twice (first on line 2)"},
      // What no one line causes.
      {head,
       "web.def: no %runscript, and a folder or tarball has no image config to give the "
       "command; add a %runscript section"},
      {"Bootstrap: scratch\n" + tail,
       "my web.def: no #Elements.name (add one), and \"my web\" from the file's name: /name: must "
       "match [0-9A-Za-z_+.-]+ (it names the file, NAME.AppImage)",
       "my web.def"},
      {head + "#Elements.description: caf\xc3\n" + tail,
       "web.def:3: not UTF-8 text (element.json is UTF-8; re-encode the file)"},
  };
  for (const auto& c : cases) {
    INFO(c.def);
    CHECK(refusal(c.def, c.file) == c.message);
  }
}

TEST_CASE("shell bodies reach the shell unchanged through the runtime's expansion", "[unit]") {
  const std::vector<std::string> bodies = {
      R"(echo "$HOME" $$ ${X:-y} "$@" $(date) `id` cost: \$5 $)",
      "for f in /etc/*; do\n  printf '%s\\n' \"${f##*/}\"\ndone\nexit $?",
      "$$$$ $ {} }{ ${",
  };
  for (const auto& body : bodies) {
    INFO(body);
    const auto c = convert_def(
        "Bootstrap: scratch\n#Elements.name: web\n%runscript\n" + body + "\n\n", "web.def");
    const auto& command = c.element["run"]["command"];
    REQUIRE(command.size() == 4);
    CHECK(command[0] == "/bin/sh");
    CHECK(command[1] == "-c");
    CHECK(expanded(command[2].get<std::string>()) == body);
    CHECK(command[3] == "web");
  }
  // Single quotes keep sh from expanding, so the value is the text itself.
  const auto env = convert_def(
      "Bootstrap: scratch\n#Elements.name: web\n%environment\n  RAW='$HOME $$ ${X} `id`'\n"
      "%runscript\n  true\n",
      "web.def");
  CHECK(expanded(env.element["run"]["env"]["RAW"].get<std::string>()) == "$HOME $$ ${X} `id`");
  CHECK(env.warnings.empty());
}

TEST_CASE("an %environment value the shell would expand is kept literally, with a warning",
          "[unit]") {
  const auto c = convert_def(
      "Bootstrap: scratch\n#Elements.name: web\n%environment\n  export PATH=/opt/bin:$PATH\n"
      "%runscript\n  true\n",
      "web.def");
  CHECK(c.element["run"]["env"]["PATH"] == "/opt/bin:$$PATH");
  CHECK(c.warnings ==
        std::vector<std::string>{
            "web.def:4: %environment: what the shell would expand here is kept literally (write "
            "the value out, or use #Elements.env with ${NAME} for a value from the caller's "
            "environment)"});
}

TEST_CASE("a #Elements. line inside a section is shell text, with a warning", "[unit]") {
  const auto c = convert_def(
      "Bootstrap: scratch\n#Elements.name: web\n%runscript\n#Elements.network: none\n  true\n",
      "web.def");
  CHECK_FALSE(c.element["run"].contains("network"));
  CHECK(c.element["run"]["command"][2] == "#Elements.network: none\n  true");
  CHECK(c.warnings == std::vector<std::string>{"web.def:4: this #Elements. line is part of "
                                               "%runscript; move it above the first section to "
                                               "take effect"});
}

TEST_CASE("elements-pack convert takes one .def", "[unit]") {
  auto parse = [](std::vector<std::string> args) {
    args.insert(args.begin(), "elements-pack");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    return parse_cli(static_cast<int>(argv.size()), argv.data());
  };
  const auto o = parse({"convert", "-q", "web.def"});
  CHECK(o.convert == std::filesystem::path("web.def"));
  CHECK(o.quiet);
  CHECK_THAT(*parse({"convert", "--help"}).answer,
             Catch::Contains("elements-pack convert web.def > element.json"));
  CHECK_THROWS_WITH(parse({"convert"}), Catch::StartsWith("convert: missing FILE.def"));
  CHECK_THROWS_WITH(parse({"convert", "a.def", "b.def"}),
                    "convert: one FILE.def at a time; \"b.def\" is one too many");
  // Only the first word is the subcommand: a definition folder may be named convert.
  CHECK(parse({"convert/"}).definition == "convert/");
  CHECK_FALSE(parse({"convert/"}).convert);
}

TEST_CASE("convert reads the .def from disk, or says why it cannot", "[unit]") {
  temp_dir dir;
  write_file(dir / "web.def", "Bootstrap: scratch\n#Elements.name: web\n%runscript\n  true\n");
  CHECK(convert_def_file(dir / "web.def").element["from"] == "scratch");
  CHECK_THROWS_WITH(convert_def_file(dir / "gone.def"),
                    "cannot read " + (dir / "gone.def").native() + ": No such file or directory");
}
