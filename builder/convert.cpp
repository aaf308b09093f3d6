#include "convert.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <utility>

#include "definition.hpp"
#include "elements/error.hpp"

namespace elements::builder {
namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

constexpr std::string_view elements_prefix = "#Elements.";

// Where a piece of the output came from, so that a refusal by the definition
// loader points at the .def line that caused it.
struct origin {
  std::size_t line = 0;  // 0: no one line
  std::string what;      // "#Elements.arg", "%files", ...
};

template <typename T>
struct sourced {
  T value;
  origin from;
};

struct section {
  std::string name;
  std::vector<std::string> args;
  std::size_t line = 0;
  std::vector<std::pair<std::size_t, std::string>> body;
};

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return "";
  return std::string(s.substr(first, s.find_last_not_of(" \t") - first + 1));
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Checked with the same encoder that prints the result, so a line it would
// refuse is named here rather than failing the whole output.
bool valid_utf8(std::string_view s) {
  try {
    json(std::string(s)).dump();
    return true;
  } catch (const json::type_error&) {
    return false;
  }
}

// "# Elements.name: x", "#elements.name: x", "#Element.name: x": meant as
// keys, but a comment to the letter.
bool near_miss(std::string_view comment) {
  const std::string t = lower(trim(comment.substr(1)));
  for (std::string_view prefix : {"elements.", "element."}) {
    if (!t.starts_with(prefix)) continue;
    const auto key_end = t.find_first_not_of("abcdefghijklmnopqrstuvwxyz-", prefix.size());
    return key_end != std::string::npos && key_end > prefix.size() &&
           trim(std::string_view(t).substr(key_end)).starts_with(':');
  }
  return false;
}

// Splits like sh, expanding nothing: blanks separate words, '...' is literal,
// "..." takes a backslash only before $ ` " \, a backslash outside quotes keeps
// the next character, and an unquoted # starting a word ends the line.
// `expands` tells whether sh would have expanded something ($ or `) here.
// Nullopt for an unterminated quote.
std::optional<std::vector<std::string>> split_words(std::string_view text, bool& expands) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(std::exchange(word, {}));
      in_word = false;
      continue;
    }
    if (c == '#' && !in_word) break;
    in_word = true;
    if (c == '\'') {
      const auto end = text.find('\'', i + 1);
      if (end == std::string_view::npos) return std::nullopt;
      word.append(text.substr(i + 1, end - i - 1));
      i = end;
    } else if (c == '"') {
      for (++i;; ++i) {
        if (i >= text.size()) return std::nullopt;
        const char d = text[i];
        if (d == '"') break;
        if (d == '\\' && i + 1 < text.size() &&
            std::string_view("$`\"\\").find(text[i + 1]) != std::string_view::npos) {
          word += text[++i];
          continue;
        }
        expands = expands || d == '$' || d == '`';
        word += d;
      }
    } else if (c == '\\') {
      if (i + 1 < text.size()) word += text[++i];
    } else {
      expands = expands || c == '$' || c == '`';
      word += c;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

// The runtime expands every string of the spec; a shell's own $ reaches the
// shell only when written $$.
std::string escape_dollars(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '$') out += '$';
    out += c;
  }
  return out;
}

// A section's body as one script: its lines verbatim, blank lines at either end dropped.
std::string script(const section& s) {
  auto first = s.body.begin(), last = s.body.end();
  while (first != last && trim(first->second).empty()) ++first;
  while (last != first && trim((last - 1)->second).empty()) --last;
  std::string out;
  for (auto it = first; it != last; ++it) out += (it == first ? "" : "\n") + it->second;
  return out;
}

bool has_suffix(std::string_view s, std::initializer_list<std::string_view> suffixes) {
  return std::any_of(suffixes.begin(), suffixes.end(),
                     [&](std::string_view x) { return s.size() > x.size() && s.ends_with(x); });
}

// Sections with no element.json equivalent, and what to do instead.
const std::map<std::string, std::string, std::less<>> ignored_sections = {
    {"labels", "elements has no labels"},
    {"help", "--help is made from #Elements.description and the args' --help"},
    {"test", "there is no test step; run the file's own tests after packing"},
    {"setup", "it ran on the host at build time; prepare the rootfs before packing"},
    {"startscript", "there is no background instance; the file runs %runscript"},
    {"arguments", "{{ }} placeholders are not filled in; write the values out"},
};

class converter {
 public:
  converter(std::string_view text, const std::filesystem::path& file)
      : text_(text), file_(file), name_text_(file.native()) {}

  conversion run() {
    std::size_t number = 0;
    for (std::size_t at = 0; at <= text_.size();) {
      auto end = text_.find('\n', at);
      if (end == std::string_view::npos) end = text_.size();
      std::string_view line = text_.substr(at, end - at);
      if (line.ends_with('\r')) line.remove_suffix(1);
      ++number;
      if (!valid_utf8(line))
        fail(number, "not UTF-8 text (element.json is UTF-8; re-encode the file)");
      take(line, number);
      at = end + 1;
    }
    end_section();
    conversion out;
    out.element = assemble();
    check(out.element);
    out.warnings = std::move(warnings_);
    return out;
  }

 private:
  [[noreturn]] void fail(std::size_t line, const std::string& message) const {
    throw usage_error(name_text_ + (line ? ":" + std::to_string(line) : "") + ": " + message);
  }

  void warn(std::size_t line, const std::string& message) {
    warnings_.push_back(name_text_ + ":" + std::to_string(line) + ": " + message);
  }

  void take(std::string_view line, std::size_t n) {
    if (line.starts_with('%')) return start_section(line, n);
    // Singularity starts another build stage at a Bootstrap line anywhere.
    if (lower(line).starts_with("bootstrap:") && (current_ || bootstrap_))
      fail(n,
           "a second Bootstrap: starts another build stage; elements-pack converts "
           "one-stage definitions (build the first stage into a folder and start from it)");
    if (current_) {
      if (line.starts_with(elements_prefix))
        warn(n, "this #Elements. line is part of %" + current_->name +
                    "; move it above the first section to take effect");
      current_->body.emplace_back(n, std::string(line));
      return;
    }
    const std::string t = trim(line);
    if (t.empty()) return;
    if (t.starts_with('#')) return comment(t, n);
    const auto colon = t.find(':');
    if (colon == std::string::npos)
      fail(n, "cannot understand \"" + t +
                  "\" in the header (write KEY: VALUE, a # comment, or start a %section)");
    header(trim(t.substr(0, colon)), trim(t.substr(colon + 1)), n);
  }

  void comment(const std::string& t, std::size_t n) {
    if (!t.starts_with(elements_prefix)) {
      if (near_miss(t))
        fail(n, "\"" + t + "\" would be a plain comment; write #Elements.KEY: VALUE to the letter");
      return;
    }
    const std::string rest = t.substr(elements_prefix.size());
    const auto colon = rest.find(':');
    if (colon == std::string::npos)
      fail(n, "#Elements." + rest + ": missing \":\" (write #Elements.KEY: VALUE)");
    elements_key(trim(rest.substr(0, colon)), trim(rest.substr(colon + 1)), n);
  }

  void header(const std::string& written, const std::string& value, std::size_t n) {
    const std::string key = lower(written);
    if (key == "bootstrap" || key == "from") {
      auto& slot = key == "bootstrap" ? bootstrap_ : from_;
      const std::string what = key == "bootstrap" ? "Bootstrap:" : "From:";
      if (slot)
        fail(n, what + " given twice (first on line " + std::to_string(slot->from.line) + ")");
      if (value.empty()) fail(n, what + " needs a value");
      slot = sourced<std::string>{value, {n, what}};
    } else if (key == "stage") {
      fail(n,
           "Stage: multi-stage definitions are not converted (build the first stage into a "
           "folder and start from it)");
    } else {
      warn(n, "header \"" + written + ":\" is ignored (elements-pack reads Bootstrap: and From:)");
    }
  }

  void elements_key(const std::string& key, const std::string& value, std::size_t n) {
    const std::string what = "#Elements." + key;
    if (value.empty()) fail(n, what + ": needs a value");
    const origin here{n, what};
    if (key == "arg" || key == "args") {
      args_.push_back({arg(value, here), here});
    } else if (key == "env") {
      const auto eq = value.find('=');
      if (eq == std::string::npos) fail(n, what + ": write NAME=VALUE");
      set_env(trim(value.substr(0, eq)), trim(value.substr(eq + 1)), here);
    } else if (key == "bind") {
      binds_.push_back({bind(value, here), here});
    } else if (key == "pass-env") {
      for (auto& word : words(value, here)) pass_env_.push_back({std::move(word), here});
    } else if (key == "root-copyup") {
      single(key, boolean(value, here) ? "tmpfs" : "none", here);
    } else if (key == "resolv" || key == "extra-args") {
      single(key, boolean(value, here), here);
    } else if (key == "ps1-color") {
      const bool digits = value.size() <= 2 && std::all_of(value.begin(), value.end(), [](char c) {
                            return c >= '0' && c <= '9';
                          });
      if (!digits)
        fail(n, what + ": \"" + value +
                    "\" is not a number from 0 to 99 (tens: intensity, units: colour)");
      single(key, std::stoi(value), here);
    } else if (key == "name" || key == "description" || key == "network" || key == "workdir" ||
               key == "user" || key == "hostname") {
      single(key, value, here);
    } else {
      fail(n, "unknown key " + what +
                  " (known: name, description, arg, env, bind, pass-env, resolv, root-copyup, "
                  "network, ps1-color, workdir, user, hostname, extra-args)");
    }
  }

  void single(const std::string& key, ordered_json value, const origin& here) {
    auto [it, added] = singles_.try_emplace(key, sourced<ordered_json>{std::move(value), here});
    if (!added)
      fail(here.line, here.what + ": given twice (first on line " +
                          std::to_string(it->second.from.line) + "); keep one");
  }

  const ordered_json* single(const std::string& key) const {
    const auto it = singles_.find(key);
    return it == singles_.end() ? nullptr : &it->second.value;
  }

  std::vector<std::string> words(std::string_view text, const origin& here) const {
    bool expands = false;
    auto w = split_words(text, expands);
    if (!w) fail(here.line, here.what + ": a quote is not closed");
    return std::move(*w);
  }

  bool boolean(const std::string& value, const origin& here) const {
    const std::string v = lower(value);
    if (v == "true" || v == "yes" || v == "1") return true;
    if (v == "false" || v == "no" || v == "0") return false;
    fail(here.line, here.what + ": \"" + value + "\" is not true or false");
  }

  ordered_json arg(const std::string& value, const origin& here) const {
    const auto w = words(value, here);
    if (w.empty() || w[0].starts_with('-'))
      fail(here.line, here.what + ": start with the arg's name (such as \"port -p --env PORT\")");
    std::map<std::string, ordered_json> got;
    const auto put = [&](const std::string& flag, const std::string& key, ordered_json v) {
      if (!got.try_emplace(key, std::move(v)).second)
        fail(here.line, here.what + " " + w[0] + ": " + flag + " given twice");
    };
    int kinds = 0;
    for (std::size_t i = 1; i < w.size(); ++i) {
      const std::string& f = w[i];
      const auto operand = [&]() -> std::string {
        if (i + 1 >= w.size())
          fail(here.line, here.what + " " + w[0] + ": " + f + " needs a value");
        return w[++i];
      };
      if (f.size() == 2 && f[0] == '-' && f[1] != '-') {
        put(f, "short", f.substr(1));
      } else if (f == "--positional") {
        put(f, "positional", true);
      } else if (f == "--env" || f == "--bind") {
        put(f, f.substr(2), operand());
        ++kinds;
      } else if (f == "--instance" || f == "--output") {
        put(f, f.substr(2), true);
        ++kinds;
      } else if (f == "--ro") {
        put(f, "readOnly", true);
      } else if (f == "--type" || f == "--default" || f == "--help") {
        put(f, f.substr(2), operand());
      } else if (f == "--required" || f == "--optional") {
        put(f, "required", f == "--required");
      } else {
        fail(here.line, here.what + " " + w[0] + ": unknown flag \"" + f +
                            "\" (expected -X, --positional, --env VAR, --bind PATH, --instance, "
                            "--output, --ro, --type TYPE, --default VALUE, --required, --optional, "
                            "--help TEXT)");
      }
    }
    if (kinds != 1)
      fail(here.line, here.what + " " + w[0] +
                          ": give exactly one of --env VAR, --bind PATH, --instance, --output "
                          "(what the value does)");
    ordered_json a = {{"name", w[0]}};
    for (const char* key : {"short", "positional", "env", "bind", "instance", "output", "readOnly",
                            "type", "default", "required", "help"})
      if (auto it = got.find(key); it != got.end()) a[key] = it->second;
    return a;
  }

  ordered_json bind(const std::string& value, const origin& here) const {
    std::vector<std::string> parts;
    for (std::size_t at = 0;;) {
      const auto colon = value.find(':', at);
      parts.push_back(value.substr(at, colon == std::string::npos ? colon : colon - at));
      if (colon == std::string::npos) break;
      at = colon + 1;
    }
    if (parts.size() > 3) fail(here.line, here.what + ": write SRC[:DST[:ro|rw]]");
    ordered_json b = {{"source", parts[0]}, {"target", parts.size() > 1 ? parts[1] : parts[0]}};
    if (parts.size() == 3) {
      if (parts[2] != "ro" && parts[2] != "rw")
        fail(here.line, here.what + ": unknown option \"" + parts[2] + "\" (ro or rw)");
      if (parts[2] == "ro") b["readOnly"] = true;
    }
    return b;
  }

  void set_env(const std::string& name, std::string value, const origin& here) {
    // Later lines win, as they would in a shell.
    auto it =
        std::find_if(env_.begin(), env_.end(), [&](const auto& e) { return e.first == name; });
    if (it == env_.end())
      env_.emplace_back(name, sourced<std::string>{std::move(value), here});
    else
      it->second = {std::move(value), here};
  }

  void start_section(std::string_view line, std::size_t n) {
    end_section();
    bool expands = false;
    auto w = split_words(line.substr(1), expands);
    if (!w || w->empty() || (*w)[0].empty())
      fail(n, "a section line is %NAME, such as %post or %runscript");
    section s{lower((*w)[0]), {w->begin() + 1, w->end()}, n, {}};
    const bool shell = s.name == "post" || s.name == "runscript";
    if (shell || s.name == "files" || s.name == "environment") {
      if (s.name == "files" && !s.args.empty() && s.args[0] == "from")
        fail(n, "%files from a stage: multi-stage definitions are not converted");
      const bool shell_option = shell && s.args.size() == 2 && s.args[0] == "-c";
      if (!s.args.empty() && !shell_option)
        fail(n, "%" + s.name + ": unexpected \"" + s.args[0] + "\"" +
                    (shell ? " (the only option is -c SHELL)" : " (it takes no options)"));
      if (shell_option && !s.args[1].starts_with('/'))
        fail(n, "%" + s.name + " -c: give the shell's absolute path, such as /bin/bash");
    } else if (auto it = ignored_sections.find(s.name); it != ignored_sections.end()) {
      warn(n, "%" + s.name + " is ignored: " + it->second);
    } else if (s.name.starts_with("app")) {
      warn(n, "%" + s.name + " is ignored: an element is one app (convert each app on its own)");
    } else {
      fail(n, "unknown section %" + s.name +
                  " (expected %files, %post, %environment, %runscript, or one that is ignored: "
                  "%labels, %help, %test, %setup, %startscript)");
    }
    current_ = std::move(s);
  }

  void end_section() {
    if (!current_) return;
    section s = std::move(*current_);
    current_.reset();
    const std::string shell = s.args.size() == 2 ? s.args[1] : "/bin/sh";
    if (s.name == "files") {
      for (const auto& [n, line] : s.body) file_line(line, n);
    } else if (s.name == "environment") {
      for (const auto& [n, line] : s.body) environment_line(line, n);
    } else if (s.name == "post") {
      if (std::string body = script(s); !body.empty()) {
        ordered_json step;
        step["run"] = ordered_json::array({shell, "-c", std::move(body)});
        build_.push_back({std::move(step), {s.line, "%post"}});
      }
    } else if (s.name == "runscript") {
      if (runscript_)
        fail(s.line, "%runscript given twice (first on line " +
                         std::to_string(runscript_->from.line) + "); keep one");
      runscript_ =
          sourced<std::pair<std::string, std::string>>{{shell, script(s)}, {s.line, "%runscript"}};
    }
  }

  void file_line(const std::string& line, std::size_t n) {
    const origin here{n, "%files"};
    const auto w = words(line, here);
    if (w.empty()) return;
    if (w.size() > 2)
      fail(n, "%files: write SRC [DEST], one copy a line (quote a path with blanks)");
    if (w[0].find_first_of("*?[") != std::string::npos)
      fail(n, "%files: \"" + w[0] + "\": wildcards are not expanded; list each file or its folder");
    std::string to = w.size() > 1 ? w[1] : w[0];
    if (!to.starts_with('/')) to.insert(0, "/");
    // A trailing / is kept: "to" then names the folder to copy into, as cp reads it.
    to = std::filesystem::path(to).lexically_normal().native();
    ordered_json step;
    step["copy"] = w[0];
    step["to"] = to;
    build_.push_back({std::move(step), here});
  }

  void environment_line(const std::string& line, std::size_t n) {
    const origin here{n, "%environment"};
    std::string t = trim(line);
    if (t.starts_with("export ") || t.starts_with("export\t")) t = trim(t.substr(7));
    bool expands = false;
    auto w = split_words(t, expands);
    if (!w) fail(n, "%environment: a quote is not closed");
    for (const auto& word : *w) {
      const auto eq = word.find('=');
      if (eq == std::string::npos || eq == 0)
        fail(n, "%environment: cannot understand \"" + t +
                    "\"; write NAME=VALUE or export NAME=VALUE (no shell runs these lines)");
      set_env(word.substr(0, eq), escape_dollars(word.substr(eq + 1)), here);
    }
    if (expands)
      warn(n,
           "%environment: what the shell would expand here is kept literally (write the value "
           "out, or use #Elements.env with ${NAME} for a value from the caller's environment)");
  }

  // "from" and its warnings, or nothing when the header names no image.
  std::optional<std::string> source() {
    if (!bootstrap_) {
      if (from_) fail(from_->from.line, "From: without Bootstrap: (add Bootstrap: localimage)");
      warnings_.push_back(name_text_ +
                          ": no Bootstrap: header; pass --from SOURCE to elements-pack");
      return std::nullopt;
    }
    const std::string agent = lower(bootstrap_->value);
    const std::size_t n = bootstrap_->from.line;
    if (agent == "scratch") return "scratch";
    if (!from_) fail(n, "Bootstrap: " + bootstrap_->value + " needs a From: line naming the image");
    const std::string& path = from_->value;
    if (agent == "localimage") {
      if (has_suffix(lower(path), {".sif", ".simg", ".img"}))
        fail(from_->from.line, "From: " + path +
                                   ": elements-pack reads folders and tarballs, not SIF images "
                                   "(unpack it with apptainer build --sandbox rootfs " +
                                   path + " and write From: rootfs)");
      if (has_suffix(path, {".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.xz"}))
        return "tar:" + path;
      struct stat st {};
      if (::stat((file_.parent_path() / path).c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        warn(from_->from.line, "From: " + path + " is not a folder beside " +
                                   file_.filename().native() +
                                   " yet; create it or pass --from SOURCE to elements-pack");
      return "dir:" + path;
    }
    if (agent == "oci") return "oci:" + path;
    if (agent == "docker-archive") return "docker-archive:" + path;
    if (agent == "docker" || agent == "library") return registry_image(agent, path);
    fail(n, "Bootstrap: " + bootstrap_->value +
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
    warn(bootstrap_->from.line,
         "elements-pack does not pull images; save it with " + copy + " beside " +
             file_.filename().native() +
             (agent == "docker" ? "" : " (or another OCI copy of the library image)"));
    return target;
  }

  ordered_json assemble() {
    ordered_json doc;
    if (const ordered_json* name = single("name")) {
      doc["name"] = *name;
      origins_.push_back({"/name", singles_.at("name").from});
    } else {
      doc["name"] = file_.stem().native();
      origins_.push_back({"/name",
                          {0, "no #Elements.name (add one), and \"" + file_.stem().native() +
                                  "\" from the file's name"}});
      warnings_.push_back(name_text_ + ": no #Elements.name; the element is named \"" +
                          file_.stem().native() + "\" after the file");
    }
    const auto from = source();
    if (from) doc["from"] = *from;
    ordered_json build = ordered_json::array();
    for (std::size_t i = 0, copies = 0; i < build_.size(); ++i) {
      if (build_[i].value.contains("copy"))
        origins_.push_back({"/build/" + std::to_string(copies++), build_[i].from});
      build.push_back(build_[i].value);
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
      if (const auto it = singles_.find(key); it != singles_.end()) {
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
    if (runscript_) {
      const auto& [shell, body] = runscript_->value;
      run["command"] = {shell, "-c", escape_dollars(body), doc_name()};
      origins_.push_back({"/run/command", runscript_->from});
    } else if (!image_gives_command) {
      fail(0,
           "no %runscript, and a folder or tarball has no image config to give the command; "
           "add a %runscript section");
    }
    put("workdir", "workdir");
    put("user", "user");
    list("args", args_);
    if (runscript_) run["extraArgs"] = true;  // "$@" in the body takes the words after --
    put("extraArgs", "extra-args");
    for (const auto& [name, value] : env_) {
      run["env"][name] = value.value;
      origins_.push_back({"/run/env/" + name, value.from});
    }
    list("passEnv", pass_env_);
    list("binds", binds_);
    put("resolvConf", "resolv");
    put("network", "network");
    put("writable", "root-copyup");
    put("hostname", "hostname");
    put("ps1Color", "ps1-color");
    return run;
  }

  std::string doc_name() const {
    const ordered_json* name = single("name");
    return name ? name->get<std::string>() : file_.stem().native();
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
      parse_definition(doc.dump(), file_);
    } catch (const error& e) {
      locate(e.what());
    }
  }

  // "FILE: /run/args/0/type: must be ..." becomes "FILE:LINE: #Elements.arg: /run/args/0/type:
  // ...".
  [[noreturn]] void locate(std::string message) const {
    if (message.starts_with(name_text_ + ": ")) message.erase(0, name_text_.size() + 2);
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
    if (!best) throw usage_error(name_text_ + ": " + message);
    fail(best->line, best->what + ": " + message);
  }

  std::string_view text_;
  std::filesystem::path file_;
  std::string name_text_;
  std::vector<std::string> warnings_;
  std::optional<section> current_;
  std::optional<sourced<std::string>> bootstrap_, from_;
  std::map<std::string, sourced<ordered_json>, std::less<>> singles_;
  std::vector<sourced<ordered_json>> args_, binds_, build_;
  std::vector<sourced<std::string>> pass_env_;
  std::vector<std::pair<std::string, sourced<std::string>>> env_;
  std::optional<sourced<std::pair<std::string, std::string>>> runscript_;  // shell, body
  std::vector<std::pair<std::string, origin>> origins_;  // output pointer → line
};

}  // namespace

conversion convert_def(std::string_view text, const std::filesystem::path& file) {
  return converter(text, file).run();
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
