// The words of a .def file: see convert_words.hpp.
#include "builder/definition/convert_words.hpp"

#include <algorithm>
#include <utility>

#include <nlohmann/json.hpp>

namespace elements::builder::dotdef {

using json = nlohmann::json;

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

bool valid_utf8(std::string_view s) {
  try {
    json(std::string(s)).dump();
    return true;
  } catch (const json::type_error&) {
    return false;
  }
}

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

std::string escape_dollars(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '$') out += '$';
    out += c;
  }
  return out;
}

bool has_suffix(std::string_view s, std::initializer_list<std::string_view> suffixes) {
  return std::any_of(suffixes.begin(), suffixes.end(),
                     [&](std::string_view x) { return s.size() > x.size() && s.ends_with(x); });
}

}  // namespace elements::builder::dotdef
