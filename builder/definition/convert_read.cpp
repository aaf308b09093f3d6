// Reading the .def format (convert.hpp): its header, #Elements. lines and
// sections, each piece kept with the line it came from.
#include <map>

#include "builder/definition/convert_def.hpp"
#include "builder/definition/convert_words.hpp"

namespace elements::builder::dotdef {
namespace {

constexpr std::string_view elements_prefix = "#Elements.";

// A section's body as one script: its lines verbatim, blank lines at either end dropped.
std::string script(const section& s) {
  auto first = s.body.begin(), last = s.body.end();
  while (first != last && trim(first->second).empty()) ++first;
  while (last != first && trim((last - 1)->second).empty()) --last;
  std::string out;
  for (auto it = first; it != last; ++it) out += (it == first ? "" : "\n") + it->second;
  return out;
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

class reader {
 public:
  reader(std::string_view text, contents& c) : text_(text), c_(c) {}

  void read() {
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
  }

 private:
  [[noreturn]] void fail(std::size_t line, const std::string& message) const {
    c_.fail(line, message);
  }
  void warn(std::size_t line, const std::string& message) { c_.warn(line, message); }

  void take(std::string_view line, std::size_t n) {
    if (line.starts_with('%')) return start_section(line, n);
    // Singularity starts another build stage at a Bootstrap line anywhere.
    if (lower(line).starts_with("bootstrap:") && (current_ || c_.bootstrap))
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
      auto& slot = key == "bootstrap" ? c_.bootstrap : c_.from;
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
      c_.args.push_back({arg_entry(c_, value, here), here});
    } else if (key == "env") {
      const auto eq = value.find('=');
      if (eq == std::string::npos) fail(n, what + ": write NAME=VALUE");
      set_env(trim(value.substr(0, eq)), trim(value.substr(eq + 1)), here);
    } else if (key == "bind") {
      c_.binds.push_back({bind_entry(c_, value, here), here});
    } else if (key == "pass-env") {
      for (auto& word : words(c_, value, here)) c_.pass_env.push_back({std::move(word), here});
    } else if (key == "root-copyup") {
      single(key, boolean(c_, value, here) ? "tmpfs" : "none", here);
    } else if (key == "resolv" || key == "extra-args") {
      single(key, boolean(c_, value, here), here);
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
    auto [it, added] = c_.singles.try_emplace(key, sourced<ordered_json>{std::move(value), here});
    if (!added)
      fail(here.line, here.what + ": given twice (first on line " +
                          std::to_string(it->second.from.line) + "); keep one");
  }

  void set_env(const std::string& name, std::string value, const origin& here) {
    // Later lines win, as they would in a shell.
    auto it =
        std::find_if(c_.env.begin(), c_.env.end(), [&](const auto& e) { return e.first == name; });
    if (it == c_.env.end())
      c_.env.emplace_back(name, sourced<std::string>{std::move(value), here});
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
        c_.build.push_back({std::move(step), {s.line, "%post"}});
      }
    } else if (s.name == "runscript") {
      if (c_.runscript)
        fail(s.line, "%runscript given twice (first on line " +
                         std::to_string(c_.runscript->from.line) + "); keep one");
      c_.runscript =
          sourced<std::pair<std::string, std::string>>{{shell, script(s)}, {s.line, "%runscript"}};
    }
  }

  void file_line(const std::string& line, std::size_t n) {
    const origin here{n, "%files"};
    const auto w = words(c_, line, here);
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
    c_.build.push_back({std::move(step), here});
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

  std::string_view text_;
  contents& c_;
  std::optional<section> current_;
};

}  // namespace

[[noreturn]] void contents::fail(std::size_t line, const std::string& message) const {
  throw usage_error(file_text + (line ? ":" + std::to_string(line) : "") + ": " + message);
}

void contents::warn(std::size_t line, const std::string& message) {
  warnings.push_back(file_text + ":" + std::to_string(line) + ": " + message);
}

const ordered_json* contents::single(const std::string& key) const {
  const auto it = singles.find(key);
  return it == singles.end() ? nullptr : &it->second.value;
}

contents read(std::string_view text, const std::filesystem::path& file) {
  contents c;
  c.file = file;
  c.file_text = file.native();
  reader(text, c).read();
  return c;
}

}  // namespace elements::builder::dotdef
