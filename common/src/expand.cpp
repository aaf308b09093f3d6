#include "elements/expand.hpp"

namespace elements {
namespace {

bool name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool name_char(char c) {
  return name_start(c) || (c >= '0' && c <= '9');
}

// A recursive-descent expander over one string. With `evaluate` false it
// walks the same grammar without looking names up: that is how words of
// operators not taken are skipped, and how check_expansion() validates.
class expander {
 public:
  expander(std::string_view text, const expand_lookup* lookup) : text_(text), lookup_(lookup) {}

  std::string run() { return word(false, lookup_ != nullptr); }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw expand_error("\"" + std::string(text_) + "\": " + why, false);
  }

  // Expands up to the end of the text or, inside ${...}, up to its closing
  // brace, where it stops without consuming it.
  std::string word(bool in_braces, bool evaluate) {
    std::string out;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '}') {
        if (in_braces) return out;
        out += c;
        ++pos_;
      } else if (c == '$') {
        out += dollar(evaluate);
      } else {
        out += c;
        ++pos_;
      }
    }
    return out;
  }

  std::string_view name() {
    std::size_t start = pos_;
    if (pos_ < text_.size() && name_start(text_[pos_])) {
      while (pos_ < text_.size() && name_char(text_[pos_])) ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }

  std::optional<std::string> get(std::string_view n, bool evaluate) const {
    if (!evaluate) return std::nullopt;
    return (*lookup_)(n);
  }

  std::string dollar(bool evaluate) {
    const std::size_t start = pos_++;
    if (pos_ == text_.size()) fail("\"$\" at the end (write \"$$\" for a literal \"$\")");
    if (text_[pos_] == '$') {
      ++pos_;
      return "$";
    }
    if (text_[pos_] != '{') {
      std::string_view n = name();
      if (n.empty())
        fail("\"" + std::string(text_.substr(start, 2)) +
             "\" is not a variable (write \"$$\" for a literal \"$\")");
      return get(n, evaluate).value_or("");
    }
    ++pos_;
    // Each level is a call frame: a hostile spec must not overflow the stack.
    if (depth_ == max_depth)
      fail("\"${\" at offset " + std::to_string(start) + " nests deeper than " +
           std::to_string(max_depth) + " levels (simplify the expansion)");
    ++depth_;
    struct leave {
      int& depth;
      ~leave() { --depth; }
    } leave_level{depth_};
    std::string_view n = name();
    if (n.empty()) {
      std::size_t close = text_.find('}', start);
      std::string_view bad =
          text_.substr(start, close == std::string_view::npos ? close : close - start + 1);
      fail("\"" + std::string(bad) + "\" has no valid variable name ([A-Za-z_][A-Za-z0-9_]*)");
    }
    auto unterminated = [&] {
      fail("\"${\" at offset " + std::to_string(start) + " is not closed by \"}\"");
    };
    if (pos_ == text_.size()) unterminated();
    if (text_[pos_] == '}') {
      ++pos_;
      return get(n, evaluate).value_or("");
    }
    const bool colon = text_[pos_] == ':';
    if (colon) ++pos_;
    const char op = pos_ < text_.size() ? text_[pos_] : '\0';
    if (op != '-' && op != '+' && op != '?') {
      if (pos_ == text_.size()) unterminated();
      fail("\"" + std::string(text_.substr(start, pos_ - start + 1)) +
           "...\" is not a supported expansion (use ${NAME}, ${NAME:-word}, ${NAME-word}, "
           "${NAME:+word} or ${NAME:?message})");
    }
    ++pos_;
    const std::optional<std::string> value = get(n, evaluate);
    // ":" makes an empty value count as unset, as in the shell.
    const bool set = value && (!colon || !value->empty());
    std::string result;
    if (op == '-') {
      std::string w = word(true, evaluate && !set);
      result = set ? *value : std::move(w);
    } else if (op == '+') {
      std::string w = word(true, evaluate && set);
      if (set) result = std::move(w);
    } else {
      std::string w = word(true, evaluate && !set);
      if (evaluate && !set && pos_ < text_.size())
        throw expand_error(std::string(n) + ": " + (w.empty() ? "is not set" : w), true);
      if (set) result = *value;
    }
    if (pos_ == text_.size()) unterminated();
    ++pos_;  // the closing brace
    return result;
  }

  static constexpr int max_depth = 64;

  std::string_view text_;
  const expand_lookup* lookup_;
  std::size_t pos_ = 0;
  int depth_ = 0;  // of ${...} around pos_
};

}  // namespace

std::string expand(std::string_view text, const expand_lookup& lookup) {
  return expander(text, &lookup).run();
}

void check_expansion(std::string_view text) {
  expander(text, nullptr).run();
}

bool is_expansion_name(std::string_view n) {
  if (n.empty() || !name_start(n[0])) return false;
  for (char c : n)
    if (!name_char(c)) return false;
  return true;
}

}  // namespace elements
