// Variable expansion in spec strings (DESIGN.md section 2): $NAME, ${NAME},
// ${NAME:-word}, ${NAME-word}, ${NAME:+word}, ${NAME+word}, ${NAME:?message},
// ${NAME?message} and $$. Words nest (${A:-${B}}, ${A:-x$B}). There is no
// command substitution, globbing or word splitting: a value stays one string.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "elements/error.hpp"

namespace elements {

// The value of a name, or nullopt when it is unset (set-but-empty is "").
using expand_lookup = std::function<std::optional<std::string>(std::string_view name)>;

// Malformed text, or a ${NAME:?message} whose NAME is unset or empty. The
// message quotes the offending text; callers prefix where it came from.
class expand_error : public error {
 public:
  expand_error(const std::string& message, bool unset,
               source_location where = source_location::current())
      : error(message, exit_start_failed, {}, where), unset_(unset) {}

  // True for ${NAME:?message}: the message is the packager's words to the user.
  bool unset() const noexcept { return unset_; }

 private:
  bool unset_;
};

// Expands `text`. Words of operators that are not taken are checked for
// syntax but never looked up, so ${A:-${B:?unset}} only fails when A is empty.
std::string expand(std::string_view text, const expand_lookup& lookup);

// Checks the syntax of `text` without looking anything up (the spec's
// validation uses it so elements-pack refuses what the runtime would).
void check_expansion(std::string_view text);

// True for [A-Za-z_][A-Za-z0-9_]*, the names expansion can refer to.
bool is_expansion_name(std::string_view name);

}  // namespace elements
