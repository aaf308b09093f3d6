// How many cores this process may run on (its CPU affinity, not the machine's count).
#pragma once

#include <sched.h>

#include <algorithm>

namespace elements::builder {

inline unsigned usable_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    return static_cast<unsigned>(std::max(1, CPU_COUNT(&set)));
  return 1;
}

}  // namespace elements::builder
