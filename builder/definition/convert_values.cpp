// The values of #Elements. lines that are more than one word: an arg's
// flags and a bind's SRC[:DST[:ro|rw]], mapped to their run fields.
#include <map>

#include "builder/definition/convert_def.hpp"
#include "builder/definition/convert_words.hpp"
#include "elements/syntax.hpp"

namespace elements::builder::dotdef {

std::vector<std::string> words(const contents& c, std::string_view text, const origin& here) {
  bool expands = false;
  auto w = split_words(text, expands);
  if (!w) c.fail(here.line, here.what + ": a quote is not closed");
  return std::move(*w);
}

// The spec's bool words, but a header line must say which: "" is refused.
bool boolean(const contents& c, const std::string& value, const origin& here) {
  if (const auto b = parse_bool(value); b && !value.empty()) return *b;
  c.fail(here.line, here.what + ": \"" + value + "\" is not true or false");
}

ordered_json arg_entry(const contents& c, const std::string& value, const origin& here) {
  const auto w = words(c, value, here);
  if (w.empty() || w[0].starts_with('-'))
    c.fail(here.line, here.what + ": start with the arg's name (such as \"port -p --env PORT\")");
  std::map<std::string, ordered_json> got;
  const auto put = [&](const std::string& flag, const std::string& key, ordered_json v) {
    if (!got.try_emplace(key, std::move(v)).second)
      c.fail(here.line, here.what + " " + w[0] + ": " + flag + " given twice");
  };
  int kinds = 0;
  for (std::size_t i = 1; i < w.size(); ++i) {
    const std::string& f = w[i];
    const auto operand = [&]() -> std::string {
      if (i + 1 >= w.size())
        c.fail(here.line, here.what + " " + w[0] + ": " + f + " needs a value");
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
      c.fail(here.line, here.what + " " + w[0] + ": unknown flag \"" + f +
                            "\" (expected -X, --positional, --env VAR, --bind PATH, --instance, "
                            "--output, --ro, --type TYPE, --default VALUE, --required, --optional, "
                            "--help TEXT)");
    }
  }
  if (kinds != 1)
    c.fail(here.line, here.what + " " + w[0] +
                          ": give exactly one of --env VAR, --bind PATH, --instance, --output "
                          "(what the value does)");
  ordered_json a = {{"name", w[0]}};
  for (const char* key : {"short", "positional", "env", "bind", "instance", "output", "readOnly",
                          "type", "default", "required", "help"})
    if (auto it = got.find(key); it != got.end()) a[key] = it->second;
  return a;
}

ordered_json bind_entry(const contents& c, const std::string& value, const origin& here) {
  std::vector<std::string> parts;
  for (std::size_t at = 0;;) {
    const auto colon = value.find(':', at);
    parts.push_back(value.substr(at, colon == std::string::npos ? colon : colon - at));
    if (colon == std::string::npos) break;
    at = colon + 1;
  }
  if (parts.size() > 3) c.fail(here.line, here.what + ": write SRC[:DST[:ro|rw]]");
  ordered_json b = {{"source", parts[0]}, {"target", parts.size() > 1 ? parts[1] : parts[0]}};
  if (parts.size() == 3) {
    if (parts[2] != "ro" && parts[2] != "rw")
      c.fail(here.line, here.what + ": unknown option \"" + parts[2] + "\" (ro or rw)");
    if (parts[2] == "ro") b["readOnly"] = true;
  }
  return b;
}

}  // namespace elements::builder::dotdef
