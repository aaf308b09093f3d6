// The shapes of names and values that the spec, the runtime's command line
// and the builder's definition all accept (DESIGN.md section 2): one rule
// each, so a value one of them takes is never refused by another.
#pragma once

#include <optional>
#include <string_view>

namespace elements {

// [0-9A-Za-z_+.-]+ but not "." or "..": element names and instance names,
// which become file and folder names.
bool is_element_name(std::string_view s);

// [A-Za-z_][A-Za-z0-9_]*, with '-' allowed after the first character when
// `allow_dash`: environment variable names and arg names.
bool is_identifier(std::string_view s, bool allow_dash = false);

// An optional sign and at least one decimal digit.
bool is_int(std::string_view s);

// true/1/yes and false/0/no/"" in any case; nothing for any other word.
std::optional<bool> parse_bool(std::string_view s);

}  // namespace elements
