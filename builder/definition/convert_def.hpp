// What a .def file says (convert.hpp), as read and before it is written
// as element.json: each piece with the line it came from, so that a
// refusal by the definition loader points at the line that caused it.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "elements/error.hpp"

namespace elements::builder::dotdef {

using ordered_json = nlohmann::ordered_json;

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

struct contents {
  std::filesystem::path file;
  std::string file_text;              // as named, for messages
  std::vector<std::string> warnings;  // "FILE:LINE: ..."
  std::optional<sourced<std::string>> bootstrap, from;
  // #Elements. keys given at most once, by key.
  std::map<std::string, sourced<ordered_json>, std::less<>> singles;
  std::vector<sourced<ordered_json>> args, binds, build;
  std::vector<sourced<std::string>> pass_env;
  std::vector<std::pair<std::string, sourced<std::string>>> env;
  std::optional<sourced<std::pair<std::string, std::string>>> runscript;  // shell, body

  // Throws usage_error "FILE:LINE: message", or "FILE: message" for line 0.
  [[noreturn]] void fail(std::size_t line, const std::string& message) const;
  void warn(std::size_t line, const std::string& message);
  const ordered_json* single(const std::string& key) const;
};

// Reads the text of a .def named `file`. Throws usage_error
// "FILE:LINE: message" for a line it cannot read.
contents read(std::string_view text, const std::filesystem::path& file);

// The values of #Elements. lines, refused by `c.fail` at `here`.
std::vector<std::string> words(const contents& c, std::string_view text, const origin& here);
bool boolean(const contents& c, const std::string& value, const origin& here);
ordered_json arg_entry(const contents& c, const std::string& value, const origin& here);
ordered_json bind_entry(const contents& c, const std::string& value, const origin& here);

}  // namespace elements::builder::dotdef
