// The spec's own options and positionals, read getopt_long's way: kept apart
// from what the values mean (cli.cpp) so the grammar reads on its own.
#include "runtime/cli/cli_words.hpp"

#include <algorithm>

#include "elements/error.hpp"

namespace elements::runtime {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

[[noreturn]] void unknown_option(const spec& s, const std::string& word) {
  std::string hint = "see --help";
  if (word.rfind("--", 0) == 0) {
    const std::size_t eq = word.find('=');
    const std::string given = word.substr(2, eq == std::string::npos ? eq : eq - 2);
    for (const auto& a : s.args)
      if (!a.positional && edit_distance(given, a.name) <= 2) {
        hint = "did you mean --" + a.name + "?";
        break;
      }
    if (given.rfind("appimage-", 0) == 0) hint = "see --appimage-help";
  }
  throw usage_error(word + ": unknown option (" + hint + ")");
}

const arg_spec* find_short(const spec& s, char c) {
  for (const auto& a : s.args)
    if (!a.positional && a.short_name.size() == 1 && a.short_name[0] == c) return &a;
  return nullptr;
}

}  // namespace

// Not cxxopts: it is small itself, but it calls std::locale::classic(),
// which links all of libstdc++'s locale facets into the static runtime
// (+630 KiB stripped, 40% of its budget), for a grammar this short.
std::map<std::string, std::string> parse_words(const spec& s,
                                               const std::vector<std::string>& words) {
  std::map<std::string, std::string> given;
  std::vector<const arg_spec*> positionals;
  for (const auto& a : s.args)
    if (a.positional) positionals.push_back(&a);
  std::size_t next_positional = 0;

  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    auto take_next = [&](const std::string& opt) -> std::string {
      if (i + 1 == words.size()) throw usage_error(opt + ": needs a value (see --help)");
      return words[++i];
    };
    if (w.size() >= 2 && w[0] == '-' && w[1] == '-') {
      const std::size_t eq = w.find('=');
      const std::string name = w.substr(2, eq == std::string::npos ? eq : eq - 2);
      auto a = std::find_if(s.args.begin(), s.args.end(),
                            [&](const arg_spec& x) { return !x.positional && x.name == name; });
      if (a == s.args.end()) unknown_option(s, w);
      if (eq != std::string::npos)
        given[a->name] = w.substr(eq + 1);
      else
        given[a->name] = a->type == arg_type::bool_ ? "1" : take_next("--" + name);
    } else if (w.size() >= 2 && w[0] == '-' &&
               !(std::isdigit(static_cast<unsigned char>(w[1])) && !find_short(s, w[1]))) {
      for (std::size_t j = 1; j < w.size(); ++j) {
        const arg_spec* a = find_short(s, w[j]);
        if (!a) unknown_option(s, "-" + std::string(1, w[j]));
        if (a->type == arg_type::bool_) {
          given[a->name] = "1";
          continue;
        }
        given[a->name] = j + 1 < w.size() ? w.substr(j + 1) : take_next("-" + a->short_name);
        break;
      }
    } else if (next_positional < positionals.size()) {
      given[positionals[next_positional++]->name] = w;
    } else {
      std::string why = positionals.empty()
                            ? "this file takes no positional arguments"
                            : "this file takes " + std::to_string(positionals.size()) + " at most";
      throw usage_error("\"" + w + "\": unexpected argument (" + why +
                        (s.extra_args ? "; words for the command go after --)" : "; see --help)"));
    }
  }
  return given;
}

}  // namespace elements::runtime
