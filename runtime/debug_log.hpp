// --elements-debug: which mount path was taken and how long each step took,
// on stderr (stdout belongs to the container's command).
#pragma once

#include <string>
#include <string_view>

namespace elements::runtime::debug {

void enable(std::string_view program);
// ELEMENTS_STOP_AT, as main read it: step() holds the runtime at the first
// step whose text starts with `prefix` ("": never).
void stop_at(std::string prefix);
bool enabled();
// Prints "elements: +1.234 ms  WHAT" with the time since the previous step.
// Also the place where stop_at() holds the runtime (see debug_log.cpp).
void step(std::string_view what);

}  // namespace elements::runtime::debug
