// The runtime spec (.elements/spec.json, DESIGN.md section 2): its model,
// parsing and validation. The builder and the runtime call the same
// validate(), so elements-pack refuses exactly what the runtime would.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "elements/enum_table.hpp"

namespace elements {

enum class arg_type { str, int_, bool_, path };
enum class arg_kind { env, bind, instance, output };
enum class network_mode { host, none };
enum class writable_mode { none, tmpfs, persist };
enum class user_mode { root, keep };

// The names the spec gives each value, in the order messages list them.
inline constexpr enum_name<arg_type> arg_types[] = {{arg_type::str, "str"},
                                                    {arg_type::int_, "int"},
                                                    {arg_type::bool_, "bool"},
                                                    {arg_type::path, "path"}};
inline constexpr enum_name<network_mode> network_modes[] = {{network_mode::host, "host"},
                                                            {network_mode::none, "none"}};
inline constexpr enum_name<writable_mode> writable_modes[] = {{writable_mode::none, "none"},
                                                              {writable_mode::tmpfs, "tmpfs"},
                                                              {writable_mode::persist, "persist"}};
inline constexpr enum_name<user_mode> user_modes[] = {{user_mode::root, "root"},
                                                      {user_mode::keep, "keep"}};

constexpr const char* to_string(arg_type t) {
  return name_of(arg_types, t);
}
constexpr const char* to_string(network_mode m) {
  return name_of(network_modes, m);
}
constexpr const char* to_string(writable_mode m) {
  return name_of(writable_modes, m);
}
constexpr const char* to_string(user_mode m) {
  return name_of(user_modes, m);
}

struct arg_spec {
  std::string name;
  std::string short_name;  // one character or empty
  bool positional = false;
  arg_kind kind = arg_kind::env;
  std::string target;  // env: variable name; bind: container path
  bool read_only = false;
  arg_type type = arg_type::str;
  std::optional<std::string> default_value;
  bool required = false;  // positionals without a default are required
  std::string help;
};

struct env_spec {
  std::string value;
  arg_type type = arg_type::str;
};

struct bind_spec {
  std::string source;
  std::string target;
  bool read_only = false;
};

struct spec {
  int version = 1;
  std::string name;
  std::string description;
  std::vector<std::string> command;
  std::string workdir = "/";
  user_mode user = user_mode::root;
  std::vector<arg_spec> args;
  bool extra_args = false;
  std::vector<std::pair<std::string, env_spec>> env;  // by name
  std::vector<std::string> pass_env;
  std::vector<bind_spec> binds;
  bool resolv_conf = false;
  network_mode network = network_mode::host;
  writable_mode writable = writable_mode::none;
  std::string hostname = "${ELEMENTS_ID}";
  int ps1_color = 0;
};

// Validates and converts a spec document. Throws elements::error (exit 125 in
// the runtime; the builder maps it to 2) whose message starts with the JSON
// pointer of the offending value: "/args/2/type: must be one of str, int, bool, path".
// `pointer_prefix` is prepended to pointers ("/run" when the spec sits in a definition).
spec parse_spec(const nlohmann::json& doc, const std::string& pointer_prefix = "");

// The spec as the JSON document it came from (round-trips through parse_spec).
nlohmann::json to_json(const spec& s);

}  // namespace elements
