#include "elements/spec.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>

#include "elements/error.hpp"

using nlohmann::json;

namespace {

json minimal() {
  return {{"version", 1}, {"name", "web"}, {"command", {"/bin/httpd"}}};
}

// The message parse_spec throws for `doc`, or "(valid)".
std::string error_of(const json& doc, const std::string& prefix = "") {
  try {
    elements::parse_spec(doc, prefix);
  } catch (const elements::error& e) {
    return e.what();
  }
  return "(valid)";
}

// minimal() with one arg.
json with_arg(const json& arg) {
  json doc = minimal();
  doc["args"] = json::array({arg});
  return doc;
}

json with(const std::string& key, const json& value) {
  json doc = minimal();
  doc[key] = value;
  return doc;
}

json load_schema(const char* name) {
  // The schemas live in the source tree, two levels above this file.
  auto path =
      std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path() /
      "schema" / name;
  std::ifstream in(path);
  REQUIRE(in.good());
  return json::parse(in);
}

}  // namespace

TEST_CASE("a minimal spec takes the documented defaults", "[unit][spec]") {
  auto s = elements::parse_spec(minimal());
  CHECK(s.name == "web");
  CHECK(s.command == std::vector<std::string>{"/bin/httpd"});
  CHECK(s.workdir == "/");
  CHECK(s.user == elements::user_mode::root);
  CHECK(s.network == elements::network_mode::host);
  CHECK(s.writable == elements::writable_mode::none);
  CHECK(s.hostname == "${ELEMENTS_ID}");
  CHECK_FALSE(s.extra_args);
  CHECK_FALSE(s.resolv_conf);
  CHECK(s.ps1_color == 0);
}

TEST_CASE("the DESIGN.md example spec parses and round-trips", "[unit][spec]") {
  json doc = R"({
    "version": 1, "name": "web", "description": "Serve a folder over HTTP",
    "command": ["/bin/httpd", "-f", "-h", "/srv"], "workdir": "/", "user": "root",
    "args": [
      {"name": "docroot", "positional": true, "bind": "/srv", "readOnly": true, "help": "folder to serve"},
      {"name": "port", "short": "p", "env": "PORT", "type": "int", "default": "8080"},
      {"name": "verbose", "short": "v", "env": "VERBOSE", "type": "bool"},
      {"name": "data", "short": "d", "bind": "/data"},
      {"name": "instance", "short": "n", "instance": true},
      {"name": "output", "short": "o", "output": true}
    ],
    "extraArgs": true,
    "env": {"GREETING": "hello", "CONF": "${docroot}/site.conf", "TZ": "${TZ:-UTC}",
            "RETRIES": {"value": "${RETRIES:-3}", "type": "int"}},
    "passEnv": ["LANG", "DISPLAY"],
    "binds": [{"source": "${docroot}/site.conf", "target": "/etc/site.conf", "readOnly": true}],
    "resolvConf": true, "network": "host", "writable": "none",
    "hostname": "${ELEMENTS_ID}", "ps1Color": 27
  })"_json;
  auto s = elements::parse_spec(doc);
  REQUIRE(s.args.size() == 6);
  CHECK(s.args[0].positional);
  CHECK(s.args[0].required);
  CHECK(s.args[0].kind == elements::arg_kind::bind);
  CHECK(s.args[1].type == elements::arg_type::int_);
  CHECK(s.args[5].kind == elements::arg_kind::output);
  CHECK(elements::to_json(elements::parse_spec(elements::to_json(s))) == elements::to_json(s));
}

TEST_CASE("malformed specs are refused with the JSON pointer of the fault", "[unit][spec]") {
  using Catch::StartsWith;
  CHECK_THAT(error_of(json::array()), StartsWith(": must be an object"));
  CHECK_THAT(error_of(with("version", 2)), StartsWith("/version: must be 1"));
  CHECK_THAT(error_of(with("name", "a/b")), StartsWith("/name: must match"));
  CHECK_THAT(error_of(with("name", "..")), StartsWith("/name: must match"));
  CHECK_THAT(error_of(with("command", json::array())), StartsWith("/command: must name"));
  CHECK_THAT(error_of(with("command", {"/bin/sh", 3})), StartsWith("/command/1: must be a string"));
  CHECK_THAT(error_of(with("command", {"/bin/sh", "${A"})),
             StartsWith("/command/1: \"${A\": \"${\" at offset 0 is not closed"));
  CHECK_THAT(error_of(with("workdir", "srv")), StartsWith("/workdir: must be an absolute path"));
  CHECK_THAT(error_of(with("user", "nobody")), StartsWith("/user: must be one of root, keep"));
  CHECK_THAT(error_of(with("bogus", 1)), StartsWith("/bogus: unknown field"));
  CHECK_THAT(error_of(with("network", "bridge")),
             StartsWith("/network: must be one of host, none"));
  CHECK_THAT(error_of(with("writable", true)), StartsWith("/writable: must be one of"));
  CHECK_THAT(error_of(with("hostname", "box$")), StartsWith("/hostname: \"box$\""));
  CHECK_THAT(error_of(with("ps1Color", 100)),
             StartsWith("/ps1Color: must be an integer from 0 to 99"));
  CHECK_THAT(error_of(with("extraArgs", "yes")), StartsWith("/extraArgs: must be true or false"));
  CHECK_THAT(error_of(with("resolvConf", 1)), StartsWith("/resolvConf: must be true or false"));
}

TEST_CASE("a version or ps1Color past 32 bits is refused, not truncated", "[unit][spec]") {
  using Catch::StartsWith;
  // 2^32 + 1 and 2^32 + 50 once read as 1 and 50.
  CHECK_THAT(error_of(with("version", 4294967297ll)), StartsWith("/version: must be 1"));
  CHECK_THAT(error_of(with("ps1Color", 4294967346ll)),
             StartsWith("/ps1Color: must be an integer from 0 to 99"));
  CHECK_THAT(error_of(with("ps1Color", 18446744073709551615ull)),
             StartsWith("/ps1Color: must be an integer from 0 to 99"));
  CHECK(elements::parse_spec(with("ps1Color", 99)).ps1_color == 99);
}

TEST_CASE("malformed args are refused with their pointer", "[unit][spec]") {
  using Catch::StartsWith;
  CHECK_THAT(error_of(with_arg({{"env", "X"}})),
             StartsWith("/args/0: missing required field \"name\""));
  CHECK_THAT(error_of(with_arg({{"name", "1x"}, {"env", "X"}})),
             StartsWith("/args/0/name: must start"));
  CHECK_THAT(error_of(with_arg({{"name", "x"}})), StartsWith("/args/0: needs exactly one of"));
  CHECK_THAT(error_of(with_arg({{"name", "x"}, {"env", "X"}, {"bind", "/x"}})),
             StartsWith("/args/0: needs exactly one of"));
  CHECK_THAT(error_of(with_arg({{"name", "x"}, {"env", "X"}, {"type", "float"}})),
             StartsWith("/args/0/type: must be one of str, int, bool, path"));
  CHECK_THAT(error_of(with_arg({{"name", "x"}, {"env", "X"}, {"short", "xy"}})),
             StartsWith("/args/0/short: must be a single letter or digit"));
  CHECK_THAT(error_of(with_arg({{"name", "x"}, {"env", "X"}, {"short", "h"}})),
             StartsWith("/args/0/short: -h is reserved"));
  CHECK_THAT(error_of(with_arg({{"name", "help"}, {"env", "X"}})),
             StartsWith("/args/0/name: \"help\" is reserved"));
  CHECK_THAT(error_of(with_arg({{"name", "elements-x"}, {"env", "X"}})),
             StartsWith("/args/0/name: \"elements-x\" is reserved"));
  CHECK_THAT(error_of(with_arg({{"name", "appimage-x"}, {"env", "X"}})),
             StartsWith("/args/0/name: \"appimage-x\" is reserved"));
  CHECK_THAT(error_of(with_arg({{"name", "x"}, {"env", "1X"}})),
             StartsWith("/args/0/env: must be an environment"));
  CHECK_THAT(error_of(with_arg({{"name", "x"}, {"env", "ELEMENTS_ID"}})),
             StartsWith("/args/0/env: \"ELEMENTS_ID\" is set by the runtime"));
  CHECK_THAT(error_of(with_arg({{"name", "x"}, {"bind", "srv"}})),
             StartsWith("/args/0/bind: must be an absolute path"));
  CHECK_THAT(error_of(with_arg({{"name", "x"}, {"bind", "/srv/${"}})),
             StartsWith("/args/0/bind: \"/srv/${\""));
  CHECK_THAT(error_of(with_arg({{"name", "x"}, {"instance", false}})),
             StartsWith("/args/0/instance: must be true when present"));
  CHECK_THAT(error_of(with_arg({{"name", "x"}, {"env", "X"}, {"readOnly", true}})),
             StartsWith("/args/0/readOnly: only applies to \"bind\" args"));
  CHECK_THAT(error_of(with_arg({{"name", "x"}, {"bind", "/x"}, {"type", "bool"}})),
             StartsWith("/args/0/type: bool only applies to \"env\" args"));
  CHECK_THAT(error_of(with_arg({{"name", "x"}, {"instance", true}, {"type", "int"}})),
             StartsWith("/args/0/type: does not apply to \"instance\" and \"output\" args"));
  CHECK_THAT(
      error_of(with_arg({{"name", "x"}, {"env", "X"}, {"type", "bool"}, {"positional", true}})),
      StartsWith("/args/0/type: a positional cannot be bool"));
  CHECK_THAT(
      error_of(with_arg({{"name", "x"}, {"env", "X"}, {"short", "x"}, {"positional", true}})),
      StartsWith("/args/0/short: a positional has no short option"));
  CHECK_THAT(error_of(with_arg({{"name", "x"}, {"env", "X"}, {"type", "int"}, {"default", "abc"}})),
             StartsWith("/args/0/default: \"abc\" is not an integer"));
  CHECK(error_of(with_arg(
            {{"name", "x"}, {"env", "X"}, {"type", "int"}, {"default", "${P:-1}"}})) == "(valid)");
  CHECK_THAT(
      error_of(with_arg({{"name", "x"}, {"env", "X"}, {"type", "bool"}, {"default", "maybe"}})),
      StartsWith("/args/0/default: \"maybe\" is not a bool"));
  CHECK(error_of(with_arg({{"name", "x"}, {"env", "X"}, {"type", "bool"}, {"default", "Yes"}})) ==
        "(valid)");
  CHECK_THAT(error_of(with_arg({{"name", "x"}, {"env", "X"}, {"default", "$"}})),
             StartsWith("/args/0/default: \"$\""));
  CHECK_THAT(error_of(with_arg({{"name", "x"}, {"env", "X"}, {"unknown", 1}})),
             StartsWith("/args/0/unknown: unknown field"));
  CHECK_THAT(error_of(with("args", json::object())), StartsWith("/args: must be an array"));
}

TEST_CASE("args that clash with each other are refused", "[unit][spec]") {
  using Catch::StartsWith;
  auto two = [](const json& a, const json& b) { return with("args", json::array({a, b})); };
  CHECK_THAT(error_of(two({{"name", "x"}, {"env", "X"}}, {{"name", "x"}, {"env", "Y"}})),
             StartsWith("/args/1/name: duplicate arg name \"x\""));
  CHECK_THAT(
      error_of(two({{"name", "dry-run"}, {"env", "X"}}, {{"name", "dry_run"}, {"env", "Y"}})),
      StartsWith("/args/1/name: \"dry_run\" clashes with another arg as ${dry_run}"));
  CHECK_THAT(error_of(two({{"name", "a"}, {"env", "X"}, {"short", "v"}},
                          {{"name", "b"}, {"env", "Y"}, {"short", "v"}})),
             StartsWith("/args/1/short: duplicate short option -v"));
  CHECK_THAT(
      error_of(two({{"name", "a"}, {"instance", true}}, {{"name", "b"}, {"instance", true}})),
      StartsWith("/args/1/instance: only one arg"));
  CHECK_THAT(error_of(two({{"name", "a"}, {"output", true}}, {{"name", "b"}, {"output", true}})),
             StartsWith("/args/1/output: only one arg"));
  CHECK_THAT(error_of(two({{"name", "a"}, {"env", "X"}, {"positional", true}, {"default", "1"}},
                          {{"name", "b"}, {"env", "Y"}, {"positional", true}})),
             StartsWith("/args/1: a required positional cannot follow an optional one"));
}

TEST_CASE("malformed env, passEnv and binds are refused with their pointer", "[unit][spec]") {
  using Catch::StartsWith;
  CHECK_THAT(error_of(with("env", json::array())), StartsWith("/env: must be an object"));
  CHECK_THAT(error_of(with("env", {{"1A", "x"}})),
             StartsWith("/env/1A: is not an environment variable name"));
  CHECK_THAT(error_of(with("env", {{"ELEMENTS_NAME", "x"}})),
             StartsWith("/env/ELEMENTS_NAME: is set by the runtime"));
  CHECK_THAT(error_of(with("env", {{"A", 1}})), StartsWith("/env/A: must be a string or"));
  CHECK_THAT(error_of(with("env", {{"A", "${B"}})), StartsWith("/env/A: \"${B\""));
  CHECK_THAT(error_of(with("env", {{"A", {{"type", "int"}}}})),
             StartsWith("/env/A: missing required field \"value\""));
  CHECK_THAT(error_of(with("env", {{"A", {{"value", "x"}, {"type", "int"}}}})),
             StartsWith("/env/A/value: \"x\" is not an integer"));
  CHECK_THAT(error_of(with("env", {{"A", {{"value", "maybe"}, {"type", "bool"}}}})),
             StartsWith("/env/A/value: \"maybe\" is not a bool"));
  CHECK(error_of(with("env", {{"A", {{"value", "${A:-3}"}, {"type", "int"}}}})) == "(valid)");
  CHECK_THAT(error_of(with("env", {{"A", {{"value", "1"}, {"kind", "x"}}}})),
             StartsWith("/env/A/kind: unknown field"));
  CHECK_THAT(error_of(with("passEnv", {"LANG", "NO-PE"})),
             StartsWith("/passEnv/1: is not an environment"));
  CHECK_THAT(error_of(with("binds", {{{"source", "/a"}}})),
             StartsWith("/binds/0: needs \"source\" and \"target\""));
  CHECK_THAT(error_of(with("binds", {{{"source", "/a"}, {"target", "b"}}})),
             StartsWith("/binds/0/target: must be an absolute path"));
  CHECK_THAT(error_of(with("binds", {{{"source", ""}, {"target", "/b"}}})),
             StartsWith("/binds/0/source: must name a host path"));
  CHECK_THAT(error_of(with("binds", {{{"source", "${x"}, {"target", "/b"}}})),
             StartsWith("/binds/0/source: \"${x\""));
  CHECK_THAT(error_of(with("binds", {{{"source", "/a"}, {"target", "/b"}, {"ro", true}}})),
             StartsWith("/binds/0/ro: unknown field"));
}

TEST_CASE("the pointer prefix places errors inside a definition", "[unit][spec]") {
  CHECK_THAT(error_of(with("workdir", "x"), "/run"), Catch::StartsWith("/run/workdir: "));
}

namespace {

// Every field parse_spec accepts, by where it sits (mirrors common/src/spec.cpp).
const std::vector<std::string> spec_fields = {"version", "name",     "description", "command",
                                              "workdir", "user",     "args",        "extraArgs",
                                              "env",     "passEnv",  "binds",       "resolvConf",
                                              "network", "writable", "hostname",    "ps1Color"};
const std::vector<std::string> arg_fields = {"name", "short",    "positional", "env",
                                             "bind", "instance", "output",     "readOnly",
                                             "type", "default",  "required",   "help"};
const std::vector<std::string> bind_fields = {"source", "target", "readOnly"};

void check_described(const json& node, const std::string& where) {
  if (node.is_object()) {
    if (node.contains("properties"))
      for (const auto& [key, prop] : node["properties"].items()) {
        INFO(where + "/properties/" + key);
        CHECK(prop.contains("description"));
      }
    for (const auto& [key, child] : node.items()) check_described(child, where + "/" + key);
  } else if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i)
      check_described(node[i], where + "/" + std::to_string(i));
  }
}

std::set<std::string> keys(const json& properties) {
  std::set<std::string> out;
  for (const auto& [key, _] : properties.items()) out.insert(key);
  return out;
}

}  // namespace

TEST_CASE("spec.schema.json documents exactly the fields the spec accepts",
          "[unit][spec][schema]") {
  json schema = load_schema("spec.schema.json");
  CHECK(schema["$schema"] == "https://json-schema.org/draft/2020-12/schema");
  std::set<std::string> top = keys(schema["properties"]);
  for (const auto& k : keys(schema["$defs"]["run"]["properties"])) top.insert(k);
  CHECK(top == std::set<std::string>(spec_fields.begin(), spec_fields.end()));
  CHECK(keys(schema["$defs"]["arg"]["properties"]) ==
        std::set<std::string>(arg_fields.begin(), arg_fields.end()));
  CHECK(keys(schema["$defs"]["bind"]["properties"]) ==
        std::set<std::string>(bind_fields.begin(), bind_fields.end()));
  CHECK(keys(schema["$defs"]["envValue"]["oneOf"][1]["properties"]) ==
        std::set<std::string>{"value", "type"});
  CHECK(schema["$defs"]["type"]["enum"] == json({"str", "int", "bool", "path"}));
  check_described(schema, "");

  // Each field the schema names is one parse_spec accepts (not "unknown field").
  for (const auto& field : spec_fields) {
    INFO(field);
    CHECK_THAT(error_of(with(field, nullptr)), !Catch::Contains("unknown field"));
  }
  for (const auto& field : arg_fields) {
    INFO(field);
    CHECK_THAT(error_of(with_arg({{"name", "x"}, {"env", "X"}, {field, nullptr}})),
               !Catch::Contains("unknown field"));
  }
}

TEST_CASE("element.schema.json documents the definition and reuses the spec",
          "[unit][spec][schema]") {
  json schema = load_schema("element.schema.json");
  CHECK(keys(schema["properties"]) == std::set<std::string>{"$schema", "name", "from", "build",
                                                            "desktop", "updateInformation", "run"});
  CHECK(schema["properties"]["run"]["$ref"] == "spec.schema.json#/$defs/run");
  json spec_schema = load_schema("spec.schema.json");
  std::set<std::string> run = keys(spec_schema["$defs"]["run"]["properties"]);
  CHECK(run.count("version") == 0);
  CHECK(run.count("name") == 0);
  CHECK(run.size() == spec_fields.size() - 2);
  CHECK(keys(schema["$defs"]["step"]["oneOf"][0]["properties"]) ==
        std::set<std::string>{"copy", "to", "owner", "mode"});
  CHECK(keys(schema["$defs"]["step"]["oneOf"][1]["properties"]) == std::set<std::string>{"run"});
  check_described(schema, "");
}
