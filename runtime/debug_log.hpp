// --elements-debug: which mount path was taken and how long each step took,
// on stderr (stdout belongs to the container's command).
#pragma once

#include <string_view>

namespace elements::runtime::debug {

void enable(std::string_view program);
bool enabled();
// Prints "elements: +1.234 ms  WHAT" with the time since the previous step.
// Also the place where ELEMENTS_STOP_AT holds the runtime (see debug_log.cpp).
void step(std::string_view what);

}  // namespace elements::runtime::debug
