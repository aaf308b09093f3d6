// What the words given mean: typed arg values, defaults and the instance,
// expanded into the plan's command, environment and binds (DESIGN.md
// sections 2 and 3). The words themselves are read in cli_words.cpp and
// cli_reserved.cpp.
#include "runtime/cli/cli.hpp"

#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "elements/error.hpp"
#include "elements/expand.hpp"
#include "elements/syntax.hpp"
#include "runtime/cli/cli_words.hpp"

namespace elements::runtime {
namespace {

constexpr std::string_view default_path =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr std::size_t instance_length = 12;  // a random instance, as DESIGN.md fixes
constexpr std::size_t percent_length = 8;    // each % of a given instance name
constexpr std::size_t hostname_max = 64;     // HOST_NAME_MAX: sethostname refuses more

std::string random_chars(std::size_t n) {
  static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  while (out.size() < n) {
    unsigned char buf[32];
    ssize_t got = ::getrandom(buf, sizeof buf, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw_errno("read random bytes");
    }
    // Bytes from 252 up are dropped so that every character is equally likely.
    for (ssize_t i = 0; i < got && out.size() < n; ++i)
      if (buf[i] < 252) out += alphabet[buf[i] % 36];
  }
  return out;
}

// Joins a relative path to the caller's directory. Only "." and empty
// components go: ".." is left to the kernel, which knows about symlinks.
std::string absolute(const std::string& p, const std::string& cwd) {
  std::string joined = p[0] == '/' ? p : cwd + "/" + p;
  std::string out;
  std::size_t i = 0;
  while (i < joined.size()) {
    std::size_t j = joined.find('/', i);
    if (j == std::string::npos) j = joined.size();
    std::string_view part(joined.data() + i, j - i);
    if (!part.empty() && part != ".") (out += '/') += part;
    i = j + 1;
  }
  return out.empty() ? "/" : out;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

// How messages and --help name an arg: "--port" or "DOCROOT".
std::string display(const arg_spec& a) {
  return a.positional ? upper(a.name) : "--" + a.name;
}

// The name an arg has in expansions: "dry-run" is ${dry_run}.
std::string var_name(const std::string& arg_name) {
  std::string n = arg_name;
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
}

// What an arg ends up with: the word given, its default, or nothing.
struct arg_value {
  const arg_spec* arg;
  std::optional<std::string> value;  // typed and checked; bool: "1" or "0"
  bool given = false;
};

// Types and checks one word given to (or defaulted for) an arg.
std::string typed(const arg_spec& a, const std::string& v, const host_context& host) {
  const std::string who = display(a);
  switch (a.kind) {
    case arg_kind::bind:
    case arg_kind::output:
      if (v.empty()) throw usage_error(who + ": needs a path, not an empty word (see --help)");
      return absolute(v, host.cwd);
    case arg_kind::instance:
      return v;  // checked once its % are replaced
    case arg_kind::env:
      break;
  }
  switch (a.type) {
    case arg_type::int_:
      if (!is_int(v)) throw usage_error(who + ": \"" + v + "\" is not an integer (see --help)");
      return v;
    case arg_type::bool_: {
      auto b = parse_bool(v);
      if (!b) throw usage_error(who + ": \"" + v + "\" is not true or false (see --help)");
      return *b ? "1" : "0";
    }
    case arg_type::path:
      if (v.empty()) throw usage_error(who + ": needs a path, not an empty word (see --help)");
      return absolute(v, host.cwd);
    case arg_type::str:
      break;
  }
  return v;
}

// The container's environment in a fixed order; a later value for a name
// replaces the earlier one where it stands.
class env_list {
 public:
  void set(const std::string& name, const std::string& value) {
    for (auto& [n, v] : vars_)
      if (n == name) {
        v = value;
        return;
      }
    vars_.emplace_back(name, value);
  }
  std::vector<std::string> strings() const {
    std::vector<std::string> out;
    for (const auto& [n, v] : vars_) out.push_back(n + "=" + v);
    return out;
  }

 private:
  std::vector<std::pair<std::string, std::string>> vars_;
};

// Names in spec strings resolve to arg values by arg name, then ELEMENTS_*,
// then the host environment (DESIGN.md section 2).
class resolver {
 public:
  explicit resolver(const host_context& host) : host_(host) {}

  void set_arg(const std::string& arg_name, std::optional<std::string> v) {
    args_[var_name(arg_name)] = std::move(v);
  }
  void set_elements(const std::string& name, const std::string& v) { elements_[name] = v; }
  const std::map<std::string, std::string>& elements_vars() const { return elements_; }

  std::optional<std::string> operator()(std::string_view name) const {
    std::string n(name);
    if (auto it = args_.find(n); it != args_.end()) return it->second;
    if (auto it = elements_.find(n); it != elements_.end()) return it->second;
    return host_env(host_, name);
  }

  // Expands a spec string; `where` is its JSON pointer, named on errors.
  std::string expand(const std::string& where, const std::string& text) const {
    try {
      return elements::expand(text, [this](std::string_view n) { return (*this)(n); });
    } catch (const expand_error& e) {
      // ${NAME:?message} speaks to the user; a syntax error to the packager.
      throw usage_error(e.unset() ? e.what() : where + ": " + e.what());
    }
  }

 private:
  const host_context& host_;
  std::map<std::string, std::optional<std::string>> args_;
  std::map<std::string, std::string> elements_;
};

std::string make_instance(const arg_value* given) {
  if (!given || !given->value) return random_chars(instance_length);
  std::string out;
  for (char c : *given->value)
    if (c == '%')
      out += random_chars(percent_length);
    else
      out += c;
  if (!is_element_name(out))
    throw usage_error(display(*given->arg) + ": \"" + *given->value +
                      "\" is not an instance name (use letters, digits, _ + . - and % for "
                      "random characters)");
  return out;
}

// The typed value of every arg: words given first, then the instance, then
// defaults in declaration order, so a default may refer to the instance
// (ELEMENTS_ID) and to args given or declared before it.
std::vector<arg_value> resolve_args(const spec& s, const std::map<std::string, std::string>& given,
                                    const host_context& host, resolver& names, plan& p) {
  std::vector<arg_value> values;
  for (const auto& a : s.args) {
    arg_value v{&a, std::nullopt, false};
    if (auto it = given.find(a.name); it != given.end()) {
      v.value = typed(a, it->second, host);
      v.given = true;
    }
    values.push_back(v);
  }
  auto set_name = [&](const arg_value& v) {
    std::optional<std::string> n = v.value;
    // In expansions a bool is "1" or empty, so ${verbose:+-v} works.
    if (v.arg->type == arg_type::bool_) n = (v.value == "1") ? "1" : "";
    names.set_arg(v.arg->name, n);
  };
  for (const auto& v : values)
    if (v.given) set_name(v);
  auto defaulted = [&](arg_value& v, std::size_t i) {
    if (v.given || !v.arg->default_value) return;
    v.value =
        typed(*v.arg,
              names.expand("/args/" + std::to_string(i) + "/default", *v.arg->default_value), host);
  };

  auto inst = std::find_if(values.begin(), values.end(),
                           [](const arg_value& v) { return v.arg->kind == arg_kind::instance; });
  p.name = s.name;
  names.set_elements("ELEMENTS_NAME", p.name);
  if (inst != values.end()) defaulted(*inst, static_cast<std::size_t>(inst - values.begin()));
  p.instance = make_instance(inst != values.end() ? &*inst : nullptr);
  p.id = p.name + "." + p.instance;
  if (inst != values.end()) inst->value = p.instance;
  names.set_elements("ELEMENTS_INSTANCE", p.instance);
  names.set_elements("ELEMENTS_ID", p.id);

  for (std::size_t i = 0; i < values.size(); ++i) {
    arg_value& v = values[i];
    defaulted(v, i);
    if (!v.value && v.arg->type == arg_type::bool_) v.value = "0";
    if (!v.value && v.arg->required)
      throw usage_error(display(*v.arg) + (v.arg->positional ? ": missing (" : ": required (") +
                        (v.arg->help.empty() ? "" : v.arg->help + "; ") + "see --help)");
    set_name(v);
  }
  return values;
}

void fill_env(const spec& s, const std::vector<arg_value>& values, const host_context& host,
              const resolver& names, plan& p) {
  env_list env;
  env.set("PATH", std::string(default_path));
  for (const auto& [name, e] : s.env) {
    const std::string where = "/env/" + name;
    std::string v = names.expand(where, e.value);
    if (e.type == arg_type::int_ && !is_int(v))
      throw usage_error(where + ": \"" + v + "\" is not an integer");
    if (e.type == arg_type::bool_) {
      auto b = parse_bool(v);
      if (!b) throw usage_error(where + ": \"" + v + "\" is not true/1/yes or false/0/no");
      v = *b ? "1" : "0";
    }
    if (e.type == arg_type::path && !v.empty()) v = absolute(v, host.cwd);
    env.set(name, v);
  }
  for (const auto& name : s.pass_env)
    if (auto v = host_env(host, name)) env.set(name, *v);
  for (const auto& v : values)
    if (v.arg->kind == arg_kind::env && v.value) env.set(v.arg->target, *v.value);
  for (const auto& [name, v] : names.elements_vars()) env.set(name, v);
  if (auto term = host_env(host, "TERM")) env.set("TERM", *term);
  env.set("HOSTNAME", p.hostname);
  if (s.ps1_color != 0) env.set("ELEMENTS_PS1_COLOR", std::to_string(s.ps1_color));
  p.env = env.strings();
}

void fill_binds(const spec& s, const std::vector<arg_value>& values, const host_context& host,
                const resolver& names, plan& p) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    const arg_value& v = values[i];
    if (v.arg->kind != arg_kind::bind || !v.value) continue;
    check_host_path(*v.value, display(*v.arg));
    std::string target = names.expand("/args/" + std::to_string(i) + "/bind", v.arg->target);
    p.binds.push_back({*v.value, target, v.arg->read_only});
  }
  for (std::size_t i = 0; i < s.binds.size(); ++i) {
    const std::string where = "/binds/" + std::to_string(i);
    std::string source = names.expand(where + "/source", s.binds[i].source);
    std::string target = names.expand(where + "/target", s.binds[i].target);
    if (source.empty()) throw usage_error(where + "/source: is empty after expansion");
    if (target.empty() || target[0] != '/')
      throw usage_error(where + "/target: \"" + target + "\" is not an absolute path");
    source = absolute(source, host.cwd);
    check_host_path(source, where + "/source");
    p.binds.push_back({source, target, s.binds[i].read_only});
  }
}

void fill_output(const std::vector<arg_value>& values, plan& p) {
  for (const auto& v : values) {
    if (v.arg->kind != arg_kind::output || !v.value) continue;
    // /out lands beside its destination, so that folder must exist now.
    const std::string& out = *v.value;
    const std::string parent = out.substr(0, std::max<std::size_t>(out.rfind('/'), 1));
    struct stat st;
    if (::stat(out.c_str(), &st) != 0 && (::stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)))
      throw usage_error(display(*v.arg) + ": the folder \"" + parent +
                        "\" does not exist (create it first)");
    p.output = out;
  }
}

// A shell in place of the command, its prompt coloured as the packager
// chose (tens: intensity, units: colour), so it is told apart from the host's.
void shell_in_place(const spec& s, const std::vector<std::string>& extra, plan& p) {
  p.argv = {"/bin/sh"};
  p.argv.insert(p.argv.end(), extra.begin(), extra.end());
  std::string name = "\\u@" + s.name;
  std::string prompt = s.ps1_color == 0
                           ? name
                           : "\\[\\e[" + std::to_string(s.ps1_color / 10) + ";3" +
                                 std::to_string(s.ps1_color % 10) + "m\\]" + name + "\\[\\e[0m\\]";
  std::erase_if(p.env, [](const std::string& e) { return e.rfind("PS1=", 0) == 0; });
  p.env.push_back("PS1=" + prompt + ":\\w\\$ ");
}

}  // namespace

void check_host_path(const std::string& path, const std::string& who) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    throw usage_error(who + ": \"" + path + "\" " +
                      (err == ENOENT || err == ENOTDIR
                           ? "does not exist"
                           : "cannot be reached: " + std::string(std::strerror(err))) +
                      " (give an existing file or folder)");
  }
  // A folder must also be searchable to be of any use as a mount.
  int mode = S_ISDIR(st.st_mode) ? R_OK | X_OK : R_OK;
  if (::access(path.c_str(), mode) != 0)
    throw usage_error(who + ": \"" + path + "\" is not readable by you (check its permissions)");
}

invocation parse_command_line(const spec& s, const std::vector<std::string>& args,
                              const host_context& host) {
  reserved_words r = scan_reserved(args);
  invocation inv;
  inv.debug = debug_requested(args, host);
  inv.what = r.what;
  inv.run.name = s.name;
  if (r.what == action::help || r.what == action::spec) return inv;
  if (r.what == action::exec) {
    if (!r.words.empty())
      throw usage_error(r.words[0] + ": --elements-exec takes only an ID and a command");
    inv.exec_id = r.exec_id;
    inv.exec_argv = r.exec_argv;
    return inv;
  }
  if (!r.extra.empty() && !s.extra_args)
    throw usage_error("\"" + r.extra[0] + "\": this file takes no arguments after -- (see --help)");

  if (r.what == action::oci_bundle) inv.bundle_dir = absolute(r.bundle_dir, host.cwd);
  plan& p = inv.run;
  resolver names(host);
  names.set_elements("ELEMENTS_ARGV0", host.argv0);
  names.set_elements("ELEMENTS_VERSION", ELEMENTS_VERSION);
  std::vector<arg_value> values = resolve_args(s, parse_words(s, r.words), host, names, p);

  for (std::size_t i = 0; i < s.command.size(); ++i)
    p.argv.push_back(names.expand("/command/" + std::to_string(i), s.command[i]));
  if (p.argv.empty() || p.argv[0].empty())
    throw usage_error("/command/0: the program to run is empty after expansion");
  p.argv.insert(p.argv.end(), r.extra.begin(), r.extra.end());

  p.hostname = names.expand("/hostname", s.hostname).substr(0, hostname_max);
  p.workdir = names.expand("/workdir", s.workdir);
  if (p.workdir.empty() || p.workdir[0] != '/')
    throw usage_error("/workdir: \"" + p.workdir + "\" is not an absolute path");
  fill_env(s, values, host, names, p);
  fill_binds(s, values, host, names, p);
  fill_output(values, p);
  p.user = s.user;
  p.network = s.network;
  p.writable = s.writable;
  p.resolv_conf = s.resolv_conf;
  p.shell = r.shell;
  p.ps1_color = s.ps1_color;
  if (p.shell) shell_in_place(s, r.extra, p);
  return inv;
}

}  // namespace elements::runtime
