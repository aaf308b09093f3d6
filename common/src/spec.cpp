#include "elements/spec.hpp"

#include <algorithm>
#include <cstdint>
#include <set>

#include "elements/error.hpp"
#include "elements/expand.hpp"
#include "elements/syntax.hpp"

namespace elements {
namespace {

using json = nlohmann::json;

class validator {
 public:
  explicit validator(std::string prefix) : prefix_(std::move(prefix)) {}

  [[noreturn]] void fail(const std::string& pointer, const std::string& message) const {
    throw error(prefix_ + pointer + ": " + message);
  }

  const json& object(const json& v, const std::string& ptr,
                     std::initializer_list<std::string_view> allowed) const {
    if (!v.is_object()) fail(ptr, "must be an object");
    for (const auto& [key, _] : v.items()) {
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        fail(ptr + "/" + key, "unknown field (check its spelling against the schema)");
    }
    return v;
  }

  std::string string(const json& v, const std::string& ptr) const {
    if (!v.is_string()) fail(ptr, "must be a string");
    return v.get<std::string>();
  }

  bool boolean(const json& v, const std::string& ptr) const {
    if (!v.is_boolean()) fail(ptr, "must be true or false");
    return v.get<bool>();
  }

  std::vector<std::string> strings(const json& v, const std::string& ptr) const {
    if (!v.is_array()) fail(ptr, "must be an array of strings");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < v.size(); ++i)
      out.push_back(string(v[i], ptr + "/" + std::to_string(i)));
    return out;
  }

  // A string the runtime expands: its ${...} syntax must be sound.
  std::string expandable(const json& v, const std::string& ptr) const {
    std::string s = string(v, ptr);
    try {
      check_expansion(s);
    } catch (const expand_error& e) {
      fail(ptr, e.what());
    }
    return s;
  }

  std::vector<std::string> expandables(const json& v, const std::string& ptr) const {
    std::vector<std::string> out = strings(v, ptr);
    for (std::size_t i = 0; i < out.size(); ++i) expandable(v[i], ptr + "/" + std::to_string(i));
    return out;
  }

  template <typename E, std::size_t N>
  E one_of(const json& v, const std::string& ptr, const enum_name<E> (&table)[N]) const {
    if (v.is_string())
      if (auto e = value_of(table, v.get<std::string>())) return *e;
    fail(ptr, "must be one of " + names_of(table));
  }

 private:
  std::string prefix_;
};

// A literal value (no expansion in it) must already have its type; an
// expanded one is checked by the runtime once expanded.
void check_literal(const validator& v, const std::string& value, arg_type type,
                   const std::string& ptr) {
  if (value.find('$') != std::string::npos) return;
  if (type == arg_type::int_ && !is_int(value))
    v.fail(ptr, "\"" + value + "\" is not an integer, as the type is int");
  if (type == arg_type::bool_ && !parse_bool(value))
    v.fail(ptr, "\"" + value + "\" is not a bool (true, 1, yes, false, 0, no or \"\")");
}

// The runtime sets these itself; a spec setting them would be overridden.
bool is_reserved_env(const std::string& name) {
  return name.rfind("ELEMENTS_", 0) == 0;
}

// name, short, positional and type: what the arg is called and holds.
void parse_arg_identity(const validator& v, const json& a, const std::string& ptr, arg_spec& out) {
  if (!a.contains("name")) v.fail(ptr, "missing required field \"name\"");
  out.name = v.string(a["name"], ptr + "/name");
  if (!is_identifier(out.name, true))
    v.fail(ptr + "/name", "must start with a letter or _ and hold only letters, digits, _ and -");
  if (a.contains("short")) {
    out.short_name = v.string(a["short"], ptr + "/short");
    if (out.short_name.size() != 1 || !std::isalnum(static_cast<unsigned char>(out.short_name[0])))
      v.fail(ptr + "/short", "must be a single letter or digit");
  }
  if (a.contains("positional")) out.positional = v.boolean(a["positional"], ptr + "/positional");
  if (a.contains("type")) out.type = v.one_of(a["type"], ptr + "/type", arg_types);
}

// env, bind, instance or output: where the value goes; exactly one.
void parse_arg_kind(const validator& v, const json& a, const std::string& ptr, arg_spec& out) {
  int kinds = 0;
  if (a.contains("env")) {
    ++kinds;
    out.kind = arg_kind::env;
    out.target = v.string(a["env"], ptr + "/env");
    if (!is_identifier(out.target, false))
      v.fail(ptr + "/env", "must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
    if (is_reserved_env(out.target))
      v.fail(ptr + "/env", "\"" + out.target + "\" is set by the runtime; choose another name");
  }
  if (a.contains("bind")) {
    ++kinds;
    out.kind = arg_kind::bind;
    out.target = v.expandable(a["bind"], ptr + "/bind");
    if (out.target.empty() || out.target[0] != '/')
      v.fail(ptr + "/bind", "must be an absolute path inside the container");
  }
  for (auto [key, kind] :
       {std::pair{"instance", arg_kind::instance}, {"output", arg_kind::output}}) {
    if (!a.contains(key)) continue;
    if (!v.boolean(a[key], ptr + "/" + key)) v.fail(ptr + "/" + key, "must be true when present");
    ++kinds;
    out.kind = kind;
  }
  if (kinds != 1) v.fail(ptr, "needs exactly one of \"env\", \"bind\", \"instance\", \"output\"");
}

// The fields that only make sense for some kinds and types, checked once
// both are known; then default, required and help.
void parse_arg_rest(const validator& v, const json& a, const std::string& ptr, arg_spec& out) {
  if (a.contains("readOnly")) {
    out.read_only = v.boolean(a["readOnly"], ptr + "/readOnly");
    if (out.kind != arg_kind::bind) v.fail(ptr + "/readOnly", "only applies to \"bind\" args");
  }
  if (out.type != arg_type::str && (out.kind == arg_kind::instance || out.kind == arg_kind::output))
    v.fail(ptr + "/type", "does not apply to \"instance\" and \"output\" args");
  if (out.type == arg_type::bool_ && out.kind != arg_kind::env)
    v.fail(ptr + "/type", "bool only applies to \"env\" args");
  if (out.type == arg_type::bool_ && out.positional)
    v.fail(ptr + "/type", "a positional cannot be bool (make it an option)");
  if (out.positional && !out.short_name.empty())
    v.fail(ptr + "/short", "a positional has no short option");
  if (a.contains("default")) {
    out.default_value = v.expandable(a["default"], ptr + "/default");
    check_literal(v, *out.default_value, out.type, ptr + "/default");
  }
  if (a.contains("required"))
    out.required = v.boolean(a["required"], ptr + "/required");
  else
    out.required = out.positional && !out.default_value;
  if (a.contains("help")) out.help = v.string(a["help"], ptr + "/help");
}

arg_spec parse_arg(const validator& v, const json& a, const std::string& ptr) {
  v.object(a, ptr,
           {"name", "short", "positional", "env", "bind", "instance", "output", "readOnly", "type",
            "default", "required", "help"});
  arg_spec out;
  parse_arg_identity(v, a, ptr, out);
  parse_arg_kind(v, a, ptr, out);
  parse_arg_rest(v, a, ptr, out);
  return out;
}

// version, name, description, command, workdir and user.
void parse_identity(const validator& v, const json& doc, spec& s) {
  if (!doc.contains("version")) v.fail("", "missing required field \"version\"");
  // Read as 64 bits: get<int>() would truncate 4294967297 to 1.
  if (!doc["version"].is_number_integer() || doc["version"].get<std::int64_t>() != 1)
    v.fail("/version", "must be 1 (this runtime reads spec version 1)");
  if (!doc.contains("name")) v.fail("", "missing required field \"name\"");
  s.name = v.string(doc["name"], "/name");
  if (!is_element_name(s.name)) v.fail("/name", "must match [0-9A-Za-z_+.-]+");
  if (doc.contains("description")) s.description = v.string(doc["description"], "/description");
  if (!doc.contains("command")) v.fail("", "missing required field \"command\"");
  s.command = v.expandables(doc["command"], "/command");
  if (s.command.empty()) v.fail("/command", "must name the program to run");
  if (doc.contains("workdir")) {
    s.workdir = v.expandable(doc["workdir"], "/workdir");
    if (s.workdir.empty() || s.workdir[0] != '/') v.fail("/workdir", "must be an absolute path");
  }
  if (doc.contains("user")) s.user = v.one_of(doc["user"], "/user", user_modes);
}

// What one arg must not share with the args before it.
struct arg_set {
  std::set<std::string> names, shorts, var_names;
  int instances = 0, outputs = 0;
  bool optional_positional_seen = false;

  void add(const validator& v, const arg_spec& a, const std::string& ptr) {
    if (a.name == "help" || a.name.rfind("elements-", 0) == 0 || a.name.rfind("appimage-", 0) == 0)
      v.fail(ptr + "/name", "\"" + a.name + "\" is reserved by the runtime");
    if (a.short_name == "h") v.fail(ptr + "/short", "-h is reserved for --help");
    if (!names.insert(a.name).second)
      v.fail(ptr + "/name", "duplicate arg name \"" + a.name + "\"");
    // Expansions name "dry-run" as ${dry_run}, so the two would clash.
    std::string var = a.name;
    std::replace(var.begin(), var.end(), '-', '_');
    if (!var_names.insert(var).second)
      v.fail(ptr + "/name", "\"" + a.name + "\" clashes with another arg as ${" + var + "}");
    if (a.kind == arg_kind::instance && ++instances > 1)
      v.fail(ptr + "/instance", "only one arg can name the instance");
    if (a.kind == arg_kind::output && ++outputs > 1)
      v.fail(ptr + "/output", "only one arg can give the output path");
    if (!a.short_name.empty() && !shorts.insert(a.short_name).second)
      v.fail(ptr + "/short", "duplicate short option -" + a.short_name);
    if (a.positional) {
      if (a.required && optional_positional_seen)
        v.fail(ptr, "a required positional cannot follow an optional one");
      if (!a.required) optional_positional_seen = true;
    }
  }
};

// args and extraArgs: the command line the element offers.
void parse_args(const validator& v, const json& doc, spec& s) {
  if (doc.contains("args")) {
    const auto& args = doc["args"];
    if (!args.is_array()) v.fail("/args", "must be an array");
    arg_set seen;
    for (std::size_t i = 0; i < args.size(); ++i) {
      const std::string ptr = "/args/" + std::to_string(i);
      arg_spec a = parse_arg(v, args[i], ptr);
      seen.add(v, a, ptr);
      s.args.push_back(std::move(a));
    }
  }
  if (doc.contains("extraArgs")) s.extra_args = v.boolean(doc["extraArgs"], "/extraArgs");
}

env_spec parse_env_value(const validator& v, const json& val, const std::string& ptr) {
  env_spec e;
  if (val.is_string()) {
    e.value = v.expandable(val, ptr);
  } else if (val.is_object()) {
    v.object(val, ptr, {"value", "type"});
    if (!val.contains("value")) v.fail(ptr, "missing required field \"value\"");
    e.value = v.expandable(val["value"], ptr + "/value");
    if (val.contains("type")) e.type = v.one_of(val["type"], ptr + "/type", arg_types);
    check_literal(v, e.value, e.type, ptr + "/value");
  } else {
    v.fail(ptr, "must be a string or {\"value\": ..., \"type\": ...}");
  }
  return e;
}

// env and passEnv: the variables the command sees.
void parse_env(const validator& v, const json& doc, spec& s) {
  if (doc.contains("env")) {
    const auto& env = doc["env"];
    if (!env.is_object()) v.fail("/env", "must be an object of NAME: value");
    for (const auto& [key, val] : env.items()) {
      const std::string ptr = "/env/" + key;
      if (!is_identifier(key, false)) v.fail(ptr, "is not an environment variable name");
      if (is_reserved_env(key)) v.fail(ptr, "is set by the runtime; choose another name");
      s.env.emplace_back(key, parse_env_value(v, val, ptr));
    }
  }
  if (doc.contains("passEnv")) {
    s.pass_env = v.strings(doc["passEnv"], "/passEnv");
    for (std::size_t i = 0; i < s.pass_env.size(); ++i)
      if (!is_identifier(s.pass_env[i], false))
        v.fail("/passEnv/" + std::to_string(i), "is not an environment variable name");
  }
}

void parse_binds(const validator& v, const json& doc, spec& s) {
  if (!doc.contains("binds")) return;
  const auto& binds = doc["binds"];
  if (!binds.is_array()) v.fail("/binds", "must be an array");
  for (std::size_t i = 0; i < binds.size(); ++i) {
    const std::string ptr = "/binds/" + std::to_string(i);
    v.object(binds[i], ptr, {"source", "target", "readOnly"});
    bind_spec b;
    if (!binds[i].contains("source") || !binds[i].contains("target"))
      v.fail(ptr, "needs \"source\" and \"target\"");
    b.source = v.expandable(binds[i]["source"], ptr + "/source");
    b.target = v.expandable(binds[i]["target"], ptr + "/target");
    if (b.source.empty()) v.fail(ptr + "/source", "must name a host path");
    if (b.target.empty() || b.target[0] != '/') v.fail(ptr + "/target", "must be an absolute path");
    if (binds[i].contains("readOnly"))
      b.read_only = v.boolean(binds[i]["readOnly"], ptr + "/readOnly");
    s.binds.push_back(std::move(b));
  }
}

// resolvConf, network, writable, hostname and ps1Color: how the container
// around the command looks.
void parse_container(const validator& v, const json& doc, spec& s) {
  if (doc.contains("resolvConf")) s.resolv_conf = v.boolean(doc["resolvConf"], "/resolvConf");
  if (doc.contains("network")) s.network = v.one_of(doc["network"], "/network", network_modes);
  if (doc.contains("writable")) s.writable = v.one_of(doc["writable"], "/writable", writable_modes);
  if (doc.contains("hostname")) s.hostname = v.expandable(doc["hostname"], "/hostname");
  if (doc.contains("ps1Color")) {
    const auto& c = doc["ps1Color"];
    if (!c.is_number_integer() || c.get<std::int64_t>() < 0 || c.get<std::int64_t>() > 99)
      v.fail("/ps1Color", "must be an integer from 0 to 99");
    s.ps1_color = static_cast<int>(c.get<std::int64_t>());
  }
}

}  // namespace

spec parse_spec(const json& doc, const std::string& pointer_prefix) {
  validator v(pointer_prefix);
  v.object(
      doc, "",
      {"version", "name", "description", "command", "workdir", "user", "args", "extraArgs", "env",
       "passEnv", "binds", "resolvConf", "network", "writable", "hostname", "ps1Color"});
  spec s;
  parse_identity(v, doc, s);
  parse_args(v, doc, s);
  parse_env(v, doc, s);
  parse_binds(v, doc, s);
  parse_container(v, doc, s);
  return s;
}

json to_json(const spec& s) {
  json doc = {{"version", s.version}, {"name", s.name}, {"command", s.command}};
  if (!s.description.empty()) doc["description"] = s.description;
  doc["workdir"] = s.workdir;
  doc["user"] = to_string(s.user);
  json args = json::array();
  for (const auto& a : s.args) {
    json j = {{"name", a.name}};
    if (!a.short_name.empty()) j["short"] = a.short_name;
    if (a.positional) j["positional"] = true;
    switch (a.kind) {
      case arg_kind::env:
        j["env"] = a.target;
        break;
      case arg_kind::bind:
        j["bind"] = a.target;
        break;
      case arg_kind::instance:
        j["instance"] = true;
        break;
      case arg_kind::output:
        j["output"] = true;
        break;
    }
    if (a.read_only) j["readOnly"] = true;
    if (a.type != arg_type::str) j["type"] = to_string(a.type);
    if (a.default_value) j["default"] = *a.default_value;
    if (a.required != (a.positional && !a.default_value)) j["required"] = a.required;
    if (!a.help.empty()) j["help"] = a.help;
    args.push_back(std::move(j));
  }
  if (!args.empty()) doc["args"] = std::move(args);
  if (s.extra_args) doc["extraArgs"] = true;
  if (!s.env.empty()) {
    json env = json::object();
    for (const auto& [k, e] : s.env)
      env[k] = e.type == arg_type::str ? json(e.value)
                                       : json{{"value", e.value}, {"type", to_string(e.type)}};
    doc["env"] = std::move(env);
  }
  if (!s.pass_env.empty()) doc["passEnv"] = s.pass_env;
  if (!s.binds.empty()) {
    json binds = json::array();
    for (const auto& b : s.binds) {
      json j = {{"source", b.source}, {"target", b.target}};
      if (b.read_only) j["readOnly"] = true;
      binds.push_back(std::move(j));
    }
    doc["binds"] = std::move(binds);
  }
  if (s.resolv_conf) doc["resolvConf"] = true;
  doc["network"] = to_string(s.network);
  doc["writable"] = to_string(s.writable);
  doc["hostname"] = s.hostname;
  if (s.ps1_color != 0) doc["ps1Color"] = s.ps1_color;
  return doc;
}

}  // namespace elements
