#include "builder/definition/definition.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "builder/definition/image_config.hpp"
#include "elements/error.hpp"
#include "elements/syntax.hpp"

namespace elements::builder {
namespace {

using json = nlohmann::json;

// JSON pointer escaping (RFC 6901), for keys the user wrote.
std::string pointer_token(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

class reader {
 public:
  explicit reader(definition& def) : def_(def) {}

  [[noreturn]] void fail(const std::string& pointer, const std::string& message) const {
    throw usage_error(def_.file + ": " + (pointer.empty() ? "" : pointer + ": ") + message);
  }

  void fields(const json& v, const std::string& ptr,
              std::initializer_list<std::string_view> allowed) const {
    if (!v.is_object()) fail(ptr, "must be an object");
    for (const auto& [key, _] : v.items())
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        fail(ptr + "/" + pointer_token(key),
             "unknown field (check its spelling against schema/element.schema.json)");
  }

  std::string string(const json& v, const std::string& ptr) const {
    if (!v.is_string()) fail(ptr, "must be a string");
    return v.get<std::string>();
  }

  // A path the definition names: it must exist when the definition is read,
  // so --check catches a typo before a build does.
  std::filesystem::path existing_path(const json& v, const std::string& ptr) const {
    std::string text = string(v, ptr);
    if (text.empty()) fail(ptr, "must name a file or folder");
    std::filesystem::path p = def_.folder / text;
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0)
      fail(ptr, text + ": " + std::strerror(errno) + " (paths are relative to the folder of " +
                    def_.file + ")");
    return p;
  }

  void read(const json& doc) {
    fields(doc, "", {"$schema", "name", "from", "build", "desktop", "updateInformation", "run"});
    if (!doc.contains("name")) fail("", "missing required field \"name\"");
    def_.name = string(doc["name"], "/name");
    if (!is_element_name(def_.name))
      fail("/name", "must match [0-9A-Za-z_+.-]+ (it names the file, NAME.AppImage)");
    if (doc.contains("from")) def_.from = string(doc["from"], "/from");
    if (doc.contains("build")) build(doc["build"]);
    if (doc.contains("desktop")) desktop(doc["desktop"]);
    if (doc.contains("updateInformation")) {
      def_.update_information = string(doc["updateInformation"], "/updateInformation");
      if (def_.update_information.size() > max_update_information)
        fail("/updateInformation", "is " + std::to_string(def_.update_information.size()) +
                                       " bytes; the runtime holds at most " +
                                       std::to_string(max_update_information));
      if (def_.update_information.find('\0') != std::string::npos)
        fail("/updateInformation", "must not contain NUL characters");
    }
    json run_doc = doc.contains("run") ? doc["run"] : json::object();
    image_defaults(run_doc);
    run(run_doc);
  }

 private:
  void build(const json& steps) {
    if (!steps.is_array()) fail("/build", "must be an array of steps");
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const std::string ptr = "/build/" + std::to_string(i);
      const json& s = steps[i];
      fields(s, ptr, {"copy", "to", "owner", "mode", "run"});
      build_step step;
      step.pointer = ptr;
      step.canonical = s.dump();  // nlohmann's objects keep their keys sorted
      if (s.contains("run")) {
        for (const char* other : {"copy", "to", "owner", "mode"})
          if (s.contains(other))
            fail(ptr + "/" + other, "a \"run\" step takes no \"" + std::string(other) +
                                        "\" (make it a step of its own)");
        step.run = run_step{command(s["run"], ptr + "/run")};
        step.summary =
            "run " + (s["run"].is_string() ? s["run"].get<std::string>() : s["run"].dump());
      } else if (s.contains("copy")) {
        step.copy = copy(s, ptr);
        step.summary = "copy " + step.copy->source_text + " to " + step.copy->target;
      } else {
        fail(ptr, "needs \"copy\" (a file or folder to add) or \"run\" (a command to run)");
      }
      def_.build.push_back(std::move(step));
    }
  }

  // An argv array, or a shell line for /bin/sh -c.
  std::vector<std::string> command(const json& v, const std::string& ptr) const {
    if (v.is_string()) {
      std::string line = v.get<std::string>();
      if (line.find_first_not_of(" \t\n") == std::string::npos)
        fail(ptr, "must not be empty (a shell line, or an array such as [\"/bin/true\"])");
      return {"/bin/sh", "-c", std::move(line)};
    }
    if (!v.is_array() || v.empty())
      fail(ptr, "must be a shell line or a non-empty array of strings such as [\"/bin/true\"]");
    std::vector<std::string> argv;
    for (std::size_t i = 0; i < v.size(); ++i)
      argv.push_back(string(v[i], ptr + "/" + std::to_string(i)));
    if (argv[0].empty()) fail(ptr + "/0", "must name the program to run");
    return argv;
  }

  copy_step copy(const json& s, const std::string& ptr) const {
    copy_step step;
    step.pointer = ptr;
    step.source_text = string(s["copy"], ptr + "/copy");
    step.source = existing_path(s["copy"], ptr + "/copy");
    if (!s.contains("to")) fail(ptr, "needs \"to\" (where the copy lands in the rootfs)");
    step.target = string(s["to"], ptr + "/to");
    if (step.target.empty() || step.target[0] != '/')
      fail(ptr + "/to", "must be an absolute path in the rootfs");
    if (s.contains("owner")) {
      std::string o = string(s["owner"], ptr + "/owner");
      std::uint32_t uid = 0, gid = 0;
      std::size_t colon = o.find(':');
      if (colon == std::string::npos || !parse_id(o.substr(0, colon), uid) ||
          !parse_id(o.substr(colon + 1), gid))
        fail(ptr + "/owner", "must be \"UID:GID\" in digits, such as \"1000:1000\"");
      step.owner = {uid, gid};
    }
    if (s.contains("mode")) {
      std::string m = string(s["mode"], ptr + "/mode");
      mode_t mode = 0;
      bool ok = !m.empty() && m.size() <= 5;
      for (char c : m) {
        ok = ok && c >= '0' && c <= '7';
        mode = mode * 8 + static_cast<mode_t>(c - '0');
      }
      if (!ok || mode > 07777)
        fail(ptr + "/mode", "must be octal permission bits, such as \"0644\"");
      step.mode = mode;
    }
    return step;
  }

  static bool parse_id(const std::string& s, std::uint32_t& out) {
    if (s.empty() || s.size() > 10 ||
        !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return false;
    unsigned long v = std::stoul(s);
    if (v > 0xFFFFFFFEul) return false;  // (uid_t)-1 means "no change" to the kernel
    out = static_cast<std::uint32_t>(v);
    return true;
  }

  void desktop(const json& d) {
    fields(d, "/desktop", {"icon", "categories", "terminal"});
    if (d.contains("icon")) {
      auto icon = existing_path(d["icon"], "/desktop/icon");
      auto ext = icon.extension();
      if (ext != ".png" && ext != ".svg")
        fail("/desktop/icon", "must be a .png or .svg file (desktop environments read those)");
      if (ext == ".png" && !has_png_signature(icon))
        fail("/desktop/icon", icon.native() + " is not a PNG image");
      def_.desktop.icon = icon;
    }
    if (d.contains("categories")) {
      const json& c = d["categories"];
      if (!c.is_array()) fail("/desktop/categories", "must be an array of strings");
      for (std::size_t i = 0; i < c.size(); ++i) {
        const std::string ptr = "/desktop/categories/" + std::to_string(i);
        std::string cat = string(c[i], ptr);
        if (cat.empty() || !std::all_of(cat.begin(), cat.end(), [](char ch) {
              return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_';
            }))
          fail(ptr, "must be a desktop menu category such as \"Network\" or \"Utility\"");
        def_.desktop.categories.push_back(std::move(cat));
      }
    }
    if (d.contains("terminal")) {
      if (!d["terminal"].is_boolean()) fail("/desktop/terminal", "must be true or false");
      def_.desktop.terminal = d["terminal"].get<bool>();
    }
  }

  static bool has_png_signature(const std::filesystem::path& p) {
    static constexpr char signature[] = "\x89PNG\r\n\x1a\n";
    char buf[8] = {};
    std::ifstream in(p, std::ios::binary);
    return in.read(buf, sizeof buf) && std::memcmp(buf, signature, sizeof buf) == 0;
  }

  // The image's config is read with the definition, so that --check shows
  // the spec the file will carry and a missing command is caught up front.
  void image_defaults(json& run_doc) {
    const auto& from = def_.from_option ? def_.from_option : def_.from;
    if (!from || !(from->starts_with("oci:") || from->starts_with("docker-archive:"))) return;
    source& image = open_rootfs_source(def_);
    const auto config = image.config();
    if (!config) return;
    const std::string& text = image.ref().text;
    for (auto& w : apply_image_config(run_doc, *config, text))
      def_.warnings.push_back(std::move(w));
    if (run_doc.is_object() && !run_doc.contains("command"))
      fail("/run", "missing required field \"command\" (" + text +
                       " names no Entrypoint or Cmd to take it from)");
  }

  void run(const json& r) {
    if (!r.is_object()) fail("/run", "must be an object (the runtime spec)");
    for (const char* implied : {"version", "name"})
      if (r.contains(implied))
        fail(std::string("/run/") + implied,
             "unknown field (the name comes from /name and the version is implied)");
    json doc = r;
    doc["version"] = 1;
    doc["name"] = def_.name;
    try {
      def_.run = parse_spec(doc, "/run");
    } catch (const error& e) {
      throw usage_error(def_.file + ": " + e.what());
    } catch (const json::exception& e) {
      // A value of a type the validator did not expect where it reads it.
      throw usage_error(def_.file + ": /run: " + e.what());
    }
  }

  definition& def_;
};

std::string syntax_message(const json::parse_error& e) {
  // nlohmann's text is "[json.exception.parse_error.101] parse error at line
  // L, column C: WHAT"; the location is rebuilt from e.byte, so keep WHAT.
  std::string_view what = e.what();
  if (auto col = what.find("column "); col != std::string_view::npos)
    if (auto sep = what.find(": ", col); sep != std::string_view::npos)
      return std::string(what.substr(sep + 2));
  if (auto sep = what.find("] "); sep != std::string_view::npos)
    return std::string(what.substr(sep + 2));
  return std::string(what);
}

}  // namespace

std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++column;  // UTF-8 continuation bytes belong to the character before
    }
  }
  return {line, column};
}

definition parse_definition(std::string_view text, const std::filesystem::path& file,
                            const std::optional<std::string>& from_option) {
  definition def;
  def.file = file.native();
  def.folder = file.parent_path();
  def.from_option = from_option;
  json doc;
  try {
    doc = json::parse(text, nullptr, true, /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    // e.byte counts the bytes read, so the offending byte is the one before.
    auto [line, column] = line_column(text, e.byte > 0 ? e.byte - 1 : 0);
    throw usage_error(def.file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
                      syntax_message(e));
  } catch (const json::out_of_range& e) {
    // A number beyond a double ("1e999") is valid JSON nlohmann cannot hold.
    // It names the number but not where it is: the first place it appears.
    const std::string_view what = e.what();
    const auto open = what.find('\''), close = what.rfind('\'');
    const auto token = open < close ? what.substr(open + 1, close - open - 1) : std::string_view();
    auto [line, column] = line_column(text, token.empty() ? 0 : text.find(token));
    throw usage_error(def.file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
                      std::string(what.substr(what.find("] ") + 2)) +
                      " (too large for a number: write it as a string)");
  }
  reader(def).read(doc);
  return def;
}

definition load_definition(const std::filesystem::path& path,
                           const std::optional<std::string>& from_option) {
  std::filesystem::path file = path;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) file = path / "element.json";
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw usage_error("cannot read the definition " + file.native() + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw usage_error("cannot read the definition " + file.native());
  return parse_definition(text.str(), file, from_option);
}

source_ref resolve_source(const definition& def, const std::optional<std::string>& from_option) {
  if (from_option) return parse_source_ref(*from_option, std::filesystem::current_path(), "--from");
  if (!def.from)
    throw usage_error(def.file + ": missing required field \"from\" (or pass --from SOURCE)");
  return parse_source_ref(*def.from, def.folder, def.file + ": /from");
}

source& open_rootfs_source(definition& def) {
  if (!def.rootfs_source) def.rootfs_source = open_source(resolve_source(def, def.from_option));
  return *def.rootfs_source;
}

}  // namespace elements::builder
