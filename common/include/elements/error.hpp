// One error type for the whole project: a message, the errno-derived code
// when a syscall failed, where it was raised, and the exit status it maps to.
#pragma once

#include <cerrno>
#include <source_location>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace elements {

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
                 std::error_code code = {},
                 std::source_location where = std::source_location::current())
      : std::runtime_error(message), status_(status), code_(code), where_(where) {}

  int status() const noexcept { return status_; }
  const std::error_code& code() const noexcept { return code_; }
  const std::source_location& where() const noexcept { return where_; }

 private:
  int status_;
  std::error_code code_;
  std::source_location where_;
};

// Bad arguments or a bad definition: exit 2.
inline error usage_error(const std::string& message,
                         std::source_location where = std::source_location::current()) {
  return error(message, exit_usage, {}, where);
}

// "cannot WHAT PATH: strerror (hint: ...)" from errno, with a hint chosen by errno.
[[noreturn]] void throw_errno(std::string_view what, std::string_view path = {}, int err = errno,
                              std::source_location where = std::source_location::current());

// Checks a syscall's return value; throws with errno on -1.
template <typename T>
T check(T rc, std::string_view what, std::string_view path = {},
        std::source_location where = std::source_location::current()) {
  if (rc == static_cast<T>(-1)) throw_errno(what, path, errno, where);
  return rc;
}

// A hint for common errno values in a container runtime, or "".
std::string_view errno_hint(int err, std::string_view what);

}  // namespace elements
