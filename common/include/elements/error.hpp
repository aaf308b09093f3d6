// One error type for the whole project: a message, the errno-derived code
// when a syscall failed, where it was raised, and the exit status it maps to.
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <version>

#ifdef __cpp_lib_source_location
#include <source_location>
#endif

namespace elements {

#ifdef __cpp_lib_source_location
using source_location = std::source_location;
#else
// clang 14 (the fuzz build) lacks __builtin_source_location, which
// libstdc++'s <source_location> needs: the same interface from the builtins
// both compilers have.
class source_location {
 public:
  static constexpr source_location current(const char* file = __builtin_FILE(),
                                           const char* function = __builtin_FUNCTION(),
                                           unsigned line = __builtin_LINE()) noexcept {
    source_location here;
    here.file_ = file;
    here.function_ = function;
    here.line_ = line;
    return here;
  }
  constexpr const char* file_name() const noexcept { return file_; }
  constexpr const char* function_name() const noexcept { return function_; }
  constexpr unsigned line() const noexcept { return line_; }
  constexpr unsigned column() const noexcept { return 0; }

 private:
  const char* file_ = "";
  const char* function_ = "";
  unsigned line_ = 0;
};
#endif

// Exit statuses of the runtime (DESIGN.md section 3) and the builder (section 4).
enum exit_status : int {
  exit_ok = 0,
  exit_build_failed = 1,
  exit_usage = 2,
  exit_start_failed = 125,
  exit_not_executable = 126,
  exit_not_found = 127,
};

class error : public std::runtime_error {
 public:
  explicit error(const std::string& message, int status = exit_start_failed,
                 std::error_code code = {}, source_location where = source_location::current())
      : std::runtime_error(message), status_(status), code_(code), where_(where) {}

  int status() const noexcept { return status_; }
  const std::error_code& code() const noexcept { return code_; }
  const source_location& where() const noexcept { return where_; }

 private:
  int status_;
  std::error_code code_;
  source_location where_;
};

// Bad arguments or a bad definition: exit 2.
inline error usage_error(const std::string& message,
                         source_location where = source_location::current()) {
  return error(message, exit_usage, {}, where);
}

// "cannot WHAT PATH: strerror (hint: ...)" from errno, with a hint chosen by errno.
[[noreturn]] void throw_errno(std::string_view what, std::string_view path = {}, int err = errno,
                              source_location where = source_location::current());

// Checks a syscall's return value; throws with errno on -1.
template <typename T>
T check(T rc, std::string_view what, std::string_view path = {},
        source_location where = source_location::current()) {
  if (rc == static_cast<T>(-1)) throw_errno(what, path, errno, where);
  return rc;
}

// A hint for common errno values in a container runtime, or "".
std::string_view errno_hint(int err, std::string_view what);

}  // namespace elements
