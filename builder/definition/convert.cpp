// elements-pack convert: the .def as convert_read.cpp read it, written here
// as element.json and checked by the definition loader.
#include "builder/definition/convert.hpp"

#include <sys/stat.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "builder/definition/convert_def.hpp"
#include "builder/definition/convert_words.hpp"
#include "builder/definition/definition.hpp"
#include "elements/error.hpp"

namespace elements::builder {
namespace {

using namespace dotdef;
using json = nlohmann::json;

// Writing element.json from what the .def said: "from" from its header,
// "build" and "run" in the schema's order, then the builder's own loader
// as the check, its refusals pointed back at the .def's lines.
class writer {
 public:
  explicit writer(contents& c) : c_(c) {}

  conversion run() {
    conversion out;
    out.element = assemble();
    check(out.element);
    out.warnings = std::move(c_.warnings);
    return out;
  }

 private:
  [[noreturn]] void fail(std::size_t line, const std::string& message) const {
    c_.fail(line, message);
  }
  void warn(std::size_t line, const std::string& message) { c_.warn(line, message); }

  // "from" and its warnings, or nothing when the header names no image.
  std::optional<std::string> source() {
    if (!c_.bootstrap) {
      if (c_.from) fail(c_.from->from.line, "From: without Bootstrap: (add Bootstrap: localimage)");
      c_.warnings.push_back(c_.file_text +
                            ": no Bootstrap: header; pass --from SOURCE to elements-pack");
      return std::nullopt;
    }
    const std::string agent = lower(c_.bootstrap->value);
    const std::size_t n = c_.bootstrap->from.line;
    if (agent == "scratch") return "scratch";
    if (!c_.from)
      fail(n, "Bootstrap: " + c_.bootstrap->value + " needs a From: line naming the image");
    const std::string& path = c_.from->value;
    if (agent == "localimage") {
      if (has_suffix(lower(path), {".sif", ".simg", ".img"}))
        fail(c_.from->from.line, "From: " + path +
                                     ": elements-pack reads folders and tarballs, not SIF images "
                                     "(unpack it with apptainer build --sandbox rootfs " +
                                     path + " and write From: rootfs)");
      if (has_suffix(path, {".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.xz"}))
        return "tar:" + path;
      struct stat st {};
      if (::stat((c_.file.parent_path() / path).c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        warn(c_.from->from.line, "From: " + path + " is not a folder beside " +
                                     c_.file.filename().native() +
                                     " yet; create it or pass --from SOURCE to elements-pack");
      return "dir:" + path;
    }
    if (agent == "oci") return "oci:" + path;
    if (agent == "docker-archive") return "docker-archive:" + path;
    if (agent == "docker" || agent == "library") return registry_image(agent, path);
    fail(n, "Bootstrap: " + c_.bootstrap->value +
                ": elements-pack starts from a folder, a tarball or a saved image (make the rootfs "
                "first, then write Bootstrap: localimage and From: its folder)");
  }

  std::string registry_image(const std::string& agent, std::string ref) {
    if (const auto scheme = ref.find("://"); scheme != std::string::npos) ref.erase(0, scheme + 3);
    const auto at = ref.find('@');
    std::string repo = ref.substr(0, at), tag;
    const auto slash = repo.rfind('/');
    if (const auto colon = repo.rfind(':');
        colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
      tag = repo.substr(colon + 1);
      repo.resize(colon);
    }
    const std::string name = repo.substr(repo.rfind('/') + 1);
    if (tag.empty() && at == std::string::npos) tag = "latest";
    const std::string target = "oci:images/" + name + (tag.empty() ? "" : ":" + tag);
    // Library images live where skopeo cannot reach; Docker Hub often has the same one.
    const std::string copy = "skopeo copy docker://" +
                             (agent == "docker" ? ref : name + (tag.empty() ? "" : ":" + tag)) +
                             " " + target;
    warn(c_.bootstrap->from.line,
         "elements-pack does not pull images; save it with " + copy + " beside " +
             c_.file.filename().native() +
             (agent == "docker" ? "" : " (or another OCI copy of the library image)"));
    return target;
  }

  ordered_json assemble() {
    ordered_json doc;
    if (const ordered_json* name = c_.single("name")) {
      doc["name"] = *name;
      origins_.push_back({"/name", c_.singles.at("name").from});
    } else {
      doc["name"] = c_.file.stem().native();
      origins_.push_back({"/name",
                          {0, "no #Elements.name (add one), and \"" + c_.file.stem().native() +
                                  "\" from the file's name"}});
      c_.warnings.push_back(c_.file_text + ": no #Elements.name; the element is named \"" +
                            c_.file.stem().native() + "\" after the file");
    }
    const auto from = source();
    if (from) doc["from"] = *from;
    ordered_json build = ordered_json::array();
    for (std::size_t i = 0, copies = 0; i < c_.build.size(); ++i) {
      if (c_.build[i].value.contains("copy"))
        origins_.push_back({"/build/" + std::to_string(copies++), c_.build[i].from});
      build.push_back(c_.build[i].value);
    }
    if (!build.empty()) doc["build"] = std::move(build);
    doc["run"] =
        run_section(from && (from->starts_with("oci:") || from->starts_with("docker-archive:")));
    return doc;
  }

  // Fields in the order of schema/spec.schema.json.
  ordered_json run_section(bool image_gives_command) {
    ordered_json run = ordered_json::object();
    const auto put = [&](const char* field, const char* key) {
      if (const auto it = c_.singles.find(key); it != c_.singles.end()) {
        run[field] = it->second.value;
        origins_.push_back({std::string("/run/") + field, it->second.from});
      }
    };
    const auto list = [&](const char* field, const auto& items) {
      for (std::size_t i = 0; i < items.size(); ++i) {
        run[field].push_back(items[i].value);
        origins_.push_back({std::string("/run/") + field + "/" + std::to_string(i), items[i].from});
      }
    };
    put("description", "description");
    if (c_.runscript) {
      const auto& [shell, body] = c_.runscript->value;
      run["command"] = {shell, "-c", escape_dollars(body), doc_name()};
      origins_.push_back({"/run/command", c_.runscript->from});
    } else if (!image_gives_command) {
      fail(0,
           "no %runscript, and a folder or tarball has no image config to give the command; "
           "add a %runscript section");
    }
    put("workdir", "workdir");
    put("user", "user");
    list("args", c_.args);
    if (c_.runscript) run["extraArgs"] = true;  // "$@" in the body takes the words after --
    put("extraArgs", "extra-args");
    for (const auto& [name, value] : c_.env) {
      run["env"][name] = value.value;
      origins_.push_back({"/run/env/" + name, value.from});
    }
    list("passEnv", c_.pass_env);
    list("binds", c_.binds);
    put("resolvConf", "resolv");
    put("network", "network");
    put("writable", "root-copyup");
    put("hostname", "hostname");
    put("ps1Color", "ps1-color");
    return run;
  }

  std::string doc_name() const {
    const ordered_json* name = c_.single("name");
    return name ? name->get<std::string>() : c_.file.stem().native();
  }

  // Runs the result through the builder's own loader. Set aside first: "run"
  // build steps, which the loader refuses until the builder runs them; "from",
  // made here from a known kind, whose image need not be saved yet; and a
  // missing command, which that image's config gives at build time.
  void check(const ordered_json& element) const {
    json doc = json::parse(element.dump());
    doc.erase("from");
    if (doc.contains("build")) {
      json copies = json::array();
      for (const auto& step : doc["build"])
        if (step.contains("copy")) copies.push_back(step);
      doc["build"] = std::move(copies);
    }
    if (!doc["run"].contains("command")) doc["run"]["command"] = {"/bin/sh"};
    try {
      parse_definition(doc.dump(), c_.file);
    } catch (const error& e) {
      locate(e.what());
    }
  }

  // "FILE: /run/args/0/type: must be ..." becomes "FILE:LINE: #Elements.arg: /run/args/0/type:
  // ...".
  [[noreturn]] void locate(std::string message) const {
    if (message.starts_with(c_.file_text + ": ")) message.erase(0, c_.file_text.size() + 2);
    const std::string pointer = message.substr(0, message.find(": "));
    const origin* best = nullptr;
    std::size_t best_size = 0;
    for (const auto& [p, o] : origins_) {
      const bool covers =
          pointer.starts_with(p) && (pointer.size() == p.size() || pointer[p.size()] == '/');
      if (covers && p.size() >= best_size) {
        best = &o;
        best_size = p.size();
      }
    }
    if (!best) throw usage_error(c_.file_text + ": " + message);
    fail(best->line, best->what + ": " + message);
  }

  contents& c_;
  std::vector<std::pair<std::string, origin>> origins_;  // output pointer → line
};

}  // namespace

conversion convert_def(std::string_view text, const std::filesystem::path& file) {
  contents c = read(text, file);
  return writer(c).run();
}

conversion convert_def_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw usage_error("cannot read " + file.native() + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw usage_error("cannot read " + file.native());
  return convert_def(text.str(), file);
}

}  // namespace elements::builder
