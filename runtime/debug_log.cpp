#include "runtime/debug_log.hpp"

#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace elements::runtime::debug {
namespace {

bool on = false;
std::string name;
std::string stop_prefix;
double last_ms = 0;

double now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

}  // namespace

void stop_at(std::string prefix) {
  stop_prefix = std::move(prefix);
}

void enable(std::string_view program) {
  on = true;
  name = program;
  last_ms = now_ms();
}

bool enabled() {
  return on;
}

void step(std::string_view what) {
  // ELEMENTS_STOP_AT=PREFIX: the runtime waits at the first step whose text
  // starts with PREFIX, until it is killed, so that the fault tests can kill
  // it at a known point. It only holds up the caller's own run, as a
  // SIGSTOP from the caller would (which PID 1 of a PID namespace ignores).
  if (!stop_prefix.empty() && what.starts_with(stop_prefix)) {
    std::fprintf(stderr, "%s: stopped at \"%.*s\" (ELEMENTS_STOP_AT)\n",
                 name.empty() ? "elements" : name.c_str(), static_cast<int>(what.size()),
                 what.data());
    for (;;) ::pause();
  }
  if (!on) return;
  double t = now_ms();
  std::fprintf(stderr, "%s: debug: %+8.3f ms  %.*s\n", name.c_str(), t - last_ms,
               static_cast<int>(what.size()), what.data());
  last_ms = t;
}

}  // namespace elements::runtime::debug
