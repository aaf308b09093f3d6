// elements-pack export (builder/publish/export_oci.cpp): the target's shape and the
// image config a definition's "run" becomes.
#include <catch2/catch.hpp>
#include <string>

#include "builder/definition/definition.hpp"
#include "builder/publish/export_oci.hpp"
#include "elements/error.hpp"
#include "test_support.hpp"

using namespace elements;
using namespace elements::builder;
using nlohmann::json;

TEST_CASE("oci:DIR[:TAG] names the folder and the tag", "[unit]") {
  CHECK(parse_oci_target("oci:out/web").dir == "out/web");
  CHECK(parse_oci_target("oci:out/web").tag == "latest");
  const oci_target t = parse_oci_target("oci:/tmp/web:1.2-rc_3");
  CHECK(t.dir == "/tmp/web");
  CHECK(t.tag == "1.2-rc_3");
  // What is not a tag stays part of the path.
  CHECK(parse_oci_target("oci:a:b/c").dir == "a:b/c");
  CHECK(parse_oci_target("oci:a:.x").dir == "a:.x");
  CHECK_THROWS_WITH(parse_oci_target("docker:web"),
                    "export: \"docker:web\" is not an image target (give oci:DIR or oci:DIR:TAG)");
  CHECK_THROWS_WITH(parse_oci_target("oci::1.0"), Catch::Contains("names no folder"));
}

TEST_CASE("the image config is the run a run without arguments gets", "[unit]") {
  const definition def = parse_definition(R"({"name": "web", "from": "scratch", "run": {
    "description": "serve",
    "command": ["/bin/httpd", "-p", "${port}", "$$x", "${ELEMENTS_ID}"],
    "workdir": "/srv/$ELEMENTS_NAME",
    "user": "keep",
    "args": [
      {"name": "port", "env": "PORT", "type": "int", "default": "8080"},
      {"name": "dry-run", "env": "DRY", "type": "bool"},
      {"name": "docroot", "positional": true, "bind": "/srv/${ELEMENTS_NAME}"}
    ],
    "env": {"PATH": "/bin", "ON": {"value": "${dry_run:-yes}", "type": "bool"},
            "FROM_HOST": "${HOME}"}
  }})",
                                          "/tmp/element.json");
  std::vector<std::string> warnings;
  const json c = oci_image_config(def, warnings);
  // ${ELEMENTS_ID} needs an instance: the word stays as written, with a warning.
  CHECK(c["Entrypoint"] == json({"/bin/httpd", "-p", "8080", "$x", "${ELEMENTS_ID}"}));
  CHECK(c["Env"] == json({"PATH=/bin", "ON=1", "PORT=8080", "DRY=0", "ELEMENTS_NAME=web"}));
  CHECK(c["WorkingDir"] == "/srv/web");
  CHECK_FALSE(c.contains("User"));  // "keep": the caller's uid is the run's
  CHECK(c["Volumes"] == json({{"/srv/web", json::object()}}));
  CHECK(c["Labels"]["org.opencontainers.image.description"] == "serve");
  REQUIRE(warnings.size() == 2);
  CHECK(warnings[0] ==
        "/run/command/4: \"${ELEMENTS_ID}\" needs the values of a run; the image "
        "keeps it as written");
  CHECK(warnings[1].rfind("/run/env/FROM_HOST:", 0) == 0);
}

TEST_CASE("the image config reads the bool words as the runtime does", "[unit]") {
  const definition def = parse_definition(R"({"name": "web", "from": "scratch", "run": {
    "command": ["/bin/httpd"],
    "args": [{"name": "loud", "env": "LOUD", "type": "bool", "default": "TRUE"},
             {"name": "quiet", "env": "QUIET", "type": "bool", "default": "No"}],
    "env": {"ON": {"value": "Yes", "type": "bool"}, "OFF": {"value": "", "type": "bool"}}
  }})",
                                          "/tmp/element.json");
  std::vector<std::string> warnings;
  const json c = oci_image_config(def, warnings);
  CHECK(c["Env"] == json({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                          "OFF=0", "ON=1", "LOUD=1", "QUIET=0", "ELEMENTS_NAME=web"}));
  CHECK(warnings.empty());
}
