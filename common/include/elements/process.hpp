// Facts about processes both tools use: what a wait status means as an exit
// status, and where PATH finds a program. libc only: the runtime links it.
#pragma once

#include <string>
#include <string_view>

namespace elements {

// The exit status a shell would report for a wait status: the child's own
// code, or 128+N when signal N ended it.
int status_of(int wait_status);

// PATH's value when it is unset or empty.
inline constexpr std::string_view default_path = "/usr/local/bin:/usr/bin:/bin";

// `value` when set and not empty, else default_path.
std::string_view path_or_default(const char* value);

// What an empty entry of a search path means: POSIX reads it as the current
// folder; lookups of programs run with the caller's ids skip it.
enum class empty_entry { skip, current_dir };

// The first DIR/name, for DIR in the colon-separated `dirs`, that the caller
// may execute; empty when there is none.
std::string find_program(std::string_view name, std::string_view dirs,
                         empty_entry empty = empty_entry::skip);

}  // namespace elements
