#include "debug_log.hpp"

#include <time.h>

#include <cstdio>
#include <string>

namespace elements::runtime::debug {
namespace {

bool on = false;
std::string name;
double last_ms = 0;

double now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

}  // namespace

void enable(std::string_view program) {
  on = true;
  name = program;
  last_ms = now_ms();
}

bool enabled() {
  return on;
}

void step(std::string_view what) {
  if (!on) return;
  double t = now_ms();
  std::fprintf(stderr, "%s: debug: %+8.3f ms  %.*s\n", name.c_str(), t - last_ms,
               static_cast<int>(what.size()), what.data());
  last_ms = t;
}

}  // namespace elements::runtime::debug
