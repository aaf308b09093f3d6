#include "builder/definition/image_config.hpp"

#include <algorithm>
#include <cctype>

#include "elements/error.hpp"
#include "elements/syntax.hpp"

namespace elements::builder {
namespace {

using json = nlohmann::json;

std::vector<std::string> strings(const json& config, const char* key, const std::string& where) {
  if (!config.contains(key) || config[key].is_null()) return {};
  const json& v = config[key];
  if (!v.is_array() ||
      !std::all_of(v.begin(), v.end(), [](const json& s) { return s.is_string(); }))
    throw error(where + ": config." + key +
                    " must be an array of strings; the image config is "
                    "damaged",
                exit_build_failed);
  return v.get<std::vector<std::string>>();
}

std::string text(const json& doc, const char* key, const std::string& where) {
  if (!doc.contains(key) || doc[key].is_null()) return {};
  if (!doc[key].is_string())
    throw error(where + ": " + key + " must be a string; the image config is damaged",
                exit_build_failed);
  return doc[key].get<std::string>();
}

// The runtime expands "$" in spec strings; an image's strings are literal.
std::string literal(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '$') out += '$';
    out += c;
  }
  return out;
}

bool is_root_user(std::string_view user) {
  for (std::string_view root : {"", "root", "0", "0:0", "root:root", "root:0", "0:root"})
    if (user == root) return true;
  return false;
}

}  // namespace

const char* host_architecture() {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__arm__)
  return "arm";
#elif defined(__i386__)
  return "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return "ppc64le";
#elif defined(__s390x__)
  return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#else
  return "unknown";
#endif
}

image_config parse_image_config(const json& doc, const std::string& where) {
  if (!doc.is_object())
    throw error(where + ": the image config is not a JSON object; the image is damaged",
                exit_build_failed);
  image_config out;
  out.os = text(doc, "os", where);
  out.architecture = text(doc, "architecture", where);
  if (!doc.contains("config") || doc["config"].is_null()) return out;
  const json& c = doc["config"];
  if (!c.is_object())
    throw error(where + ": config must be an object; the image config is damaged",
                exit_build_failed);
  out.entrypoint = strings(c, "Entrypoint", where);
  out.cmd = strings(c, "Cmd", where);
  out.env = strings(c, "Env", where);
  out.working_dir = text(c, "WorkingDir", where);
  out.user = text(c, "User", where);
  return out;
}

std::vector<std::string> apply_image_config(json& run, const image_config& image,
                                            const std::string& from) {
  std::vector<std::string> warnings;
  if (!run.is_object()) return warnings;  // the spec's validation says what is wrong

  if (!run.contains("command")) {
    json command = json::array();
    for (const auto& list : {image.entrypoint, image.cmd})
      for (const auto& word : list) command.push_back(literal(word));
    if (!command.empty()) run["command"] = std::move(command);
  }

  if (!run.contains("env") || run["env"].is_object()) {
    json& env = run["env"];
    if (env.is_null()) env = json::object();
    for (const auto& entry : image.env) {
      const auto eq = entry.find('=');
      const std::string name = entry.substr(0, eq);
      if (eq == std::string::npos || !is_identifier(name)) {
        warnings.push_back(from + ": the image's environment entry \"" + entry +
                           "\" is not NAME=value; it is left out");
        continue;
      }
      if (name.starts_with("ELEMENTS_")) {
        warnings.push_back(from + ": the image sets " + name +
                           ", which the runtime sets itself; the image's value is left out");
        continue;
      }
      if (!env.contains(name)) env[name] = literal(std::string_view(entry).substr(eq + 1));
    }
    if (env.empty()) run.erase("env");
  }

  if (!run.contains("workdir") && !image.working_dir.empty()) {
    if (image.working_dir[0] == '/')
      run["workdir"] = literal(image.working_dir);
    else
      warnings.push_back(from + ": the image's working directory \"" + image.working_dir +
                         "\" is not absolute; \"/\" is used (set run.workdir to choose)");
  }

  if (!run.contains("user") && !is_root_user(image.user))
    warnings.push_back(from + ": the image runs its command as user \"" + image.user +
                       "\"; a file runs it as root in the container, or as the caller with "
                       "run.user \"keep\" (switch users in the command if it matters)");

  if (!image.architecture.empty() && image.architecture != host_architecture())
    warnings.push_back(from + ": the image is built for " + image.architecture +
                       ", this machine is " + host_architecture());
  return warnings;
}

}  // namespace elements::builder
