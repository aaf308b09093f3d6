#include "elements/syntax.hpp"

#include <algorithm>
#include <cctype>
#include <string>

namespace elements {
namespace {

bool is_alnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

}  // namespace

bool is_element_name(std::string_view s) {
  return !s.empty() && s != "." && s != ".." && std::all_of(s.begin(), s.end(), [](char c) {
    return is_alnum(c) || c == '_' || c == '+' || c == '.' || c == '-';
  });
}

bool is_identifier(std::string_view s, bool allow_dash) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return is_alnum(c) || c == '_' || (allow_dash && c == '-'); });
}

bool is_int(std::string_view s) {
  std::size_t i = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
  return i < s.size() && std::all_of(s.begin() + static_cast<long>(i), s.end(),
                                     [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<bool> parse_bool(std::string_view s) {
  std::string v(s);
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no" || v.empty()) return false;
  return std::nullopt;
}

}  // namespace elements
