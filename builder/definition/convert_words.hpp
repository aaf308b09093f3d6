// The words of a .def file (convert.hpp): text helpers of the reader and
// writer, with no knowledge of keys or sections.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace elements::builder::dotdef {

// Without the blanks (spaces, tabs) at either end.
std::string trim(std::string_view s);
std::string lower(std::string_view s);

// Checked with the same encoder that prints the result, so a line it would
// refuse is named here rather than failing the whole output.
bool valid_utf8(std::string_view s);

// "# Elements.name: x", "#elements.name: x", "#Element.name: x": meant as
// keys, but a comment to the letter.
bool near_miss(std::string_view comment);

// Splits like sh, expanding nothing: blanks separate words, '...' is literal,
// "..." takes a backslash only before $ ` " \, a backslash outside quotes keeps
// the next character, and an unquoted # starting a word ends the line.
// `expands` tells whether sh would have expanded something ($ or `) here.
// Nullopt for an unterminated quote.
std::optional<std::vector<std::string>> split_words(std::string_view text, bool& expands);

// The runtime expands every string of the spec; a shell's own $ reaches the
// shell only when written $$.
std::string escape_dollars(std::string_view text);

// `s` ends in one of `suffixes` and is more than it.
bool has_suffix(std::string_view s, std::initializer_list<std::string_view> suffixes);

}  // namespace elements::builder::dotdef
