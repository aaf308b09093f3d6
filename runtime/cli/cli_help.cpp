// --help, generated from the spec (DESIGN.md section 3).
#include <algorithm>

#include "runtime/cli/cli.hpp"

namespace elements::runtime {
namespace {

constexpr std::size_t width = 80;
constexpr std::size_t max_column = 32;  // longer option names put their help on the next line

std::string metavar(const arg_spec& a) {
  if (!a.positional && a.kind == arg_kind::instance) return "NAME";
  if (!a.positional && (a.kind != arg_kind::env || a.type == arg_type::path)) return "PATH";
  std::string s = a.name;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

std::string type_word(arg_type t) {
  switch (t) {
    case arg_type::int_:
      return "integer";
    case arg_type::path:
      return "path";
    case arg_type::bool_:
      return "flag";
    case arg_type::str:
      break;
  }
  return "text";
}

// What the user needs to know beyond the packager's help: the type, the
// default and what the value becomes inside the container.
std::string details(const arg_spec& a) {
  const std::string dflt = !a.default_value           ? ""
                           : a.default_value->empty() ? "default \"\""
                                                      : "default " + *a.default_value;
  std::string out;
  auto add = [&](const std::string& part, const char* sep) {
    if (!part.empty()) out += (out.empty() ? "" : sep) + part;
  };
  switch (a.kind) {
    case arg_kind::env:
      if (a.type != arg_type::bool_) add(type_word(a.type), ", ");
      add(dflt, ", ");
      add("sets $" + a.target + (a.type == arg_type::bool_ ? " to 1" : ""), "; ");
      break;
    case arg_kind::bind:
      add(std::string("host path, mounted ") + (a.read_only ? "read-only " : "") + "at " + a.target,
          "");
      add(dflt, "; ");
      break;
    case arg_kind::instance:
      add(dflt.empty() ? "default random" : dflt, "");
      add("% stands for random characters", "; ");
      break;
    case arg_kind::output:
      add("host path; /out is moved there when the command exits", "");
      add(dflt, "; ");
      break;
  }
  if (!a.positional && a.required) add("required", "; ");
  std::string prefix = a.help;
  if (prefix.empty() && a.kind == arg_kind::instance) prefix = "instance name";
  if (prefix.empty() && a.kind == arg_kind::output) prefix = "where the output goes";
  return (prefix.empty() ? "" : prefix + " ") + "(" + out + ")";
}

// Word-wraps `text` to `width` columns; it starts at column `indent` and
// so do its continuation lines.
std::string wrap(const std::string& text, std::size_t indent) {
  std::string out;
  std::size_t col = indent;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = text.find(' ', i);
    if (j == std::string::npos) j = text.size();
    const std::size_t len = j - i;
    if (len > 0) {
      if (!out.empty()) {
        if (col + 1 + len > width) {
          out += "\n" + std::string(indent, ' ');
          col = indent;
        } else {
          out += ' ';
          ++col;
        }
      }
      out.append(text, i, len);
      col += len;
    }
    i = j + 1;
  }
  return out;
}

struct row {
  std::string left, right;
};

struct section {
  std::string title;
  std::vector<row> rows;
};

// Two-column sections sharing one column for the help texts.
void print(std::string& out, const std::vector<section>& sections) {
  std::size_t column = 0;
  for (const auto& sec : sections)
    for (const auto& r : sec.rows)
      if (r.left.size() + 4 <= max_column) column = std::max(column, r.left.size() + 4);
  for (const auto& sec : sections) {
    if (sec.rows.empty()) continue;
    out += "\n" + sec.title + ":\n";
    for (const auto& r : sec.rows) {
      std::string line = "  " + r.left;
      if (line.size() + 2 > column)
        out += line + "\n" + std::string(column, ' ');
      else
        out += line + std::string(column - line.size(), ' ');
      out += wrap(r.right, column) + "\n";
    }
  }
}

}  // namespace

std::string help_text(const spec& s, const std::string& argv0) {
  std::string file = argv0.substr(argv0.rfind('/') + 1);
  if (file.empty()) file = s.name + ".AppImage";

  std::string out;
  if (!s.description.empty()) out += s.description + "\n\n";
  out += "Usage: " + file + " [OPTIONS]";
  std::vector<row> positionals, options;
  for (const auto& a : s.args) {
    const std::string help = details(a);
    if (a.positional) {
      out += a.required ? " " + metavar(a) : " [" + metavar(a) + "]";
      positionals.push_back({metavar(a), help});
    } else {
      std::string left = a.short_name.empty() ? "    " : "-" + a.short_name + ", ";
      left += "--" + a.name;
      if (a.type != arg_type::bool_) left += " " + metavar(a);
      options.push_back({left, help});
    }
  }
  if (s.extra_args) out += " [-- ARGS...]";
  out += "\n";
  if (s.extra_args)
    positionals.push_back({"ARGS...", "words after -- are passed on to the command"});
  options.push_back({"-h, --help", "show this help and exit"});

  // The spec's own args first, then the runtime's reserved words, each
  // group with its own column so long reserved names do not push the first.
  print(out, {{"Arguments", positionals}, {"Options", options}});
  print(out, {{"Container options",
               {{"--elements-shell", "a shell in the container instead of the command"},
                {"--elements-exec ID -- CMD...", "run CMD in the running instance ID"},
                {"--elements-spec", "print the runtime spec and exit"},
                {"--elements-debug", "report the mount path taken and each step's time"},
                {"", "(also ELEMENTS_DEBUG=1)"},
                {"--elements-oci-bundle DIR", "write this run as an OCI bundle for runc or crun"},
                {"", "(ELEMENTS_OCI_RUNTIME=runc|crun runs it there)"},
                {"--elements-verify", "check the signature with the embedded key"}}},
              {"AppImage options",
               {{"--appimage-extract [PATTERN]", "extract the payload into squashfs-root/"},
                {"--appimage-extract-and-run", "extract to a temporary folder and run from there"},
                {"--appimage-mount", "mount the payload and print where, until Ctrl-C"},
                {"--appimage-offset", "print the payload's offset in this file"},
                {"--appimage-updateinformation", "print the update information"},
                {"--appimage-signature", "print the signature"},
                {"--appimage-version", "print the runtime's version"},
                {"--appimage-help", "describe the --appimage-* options"}}}});
  return out;
}

}  // namespace elements::runtime
