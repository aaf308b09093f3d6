#include "builder/publish/runtime_blob.hpp"

extern "C" const unsigned char elements_runtime_start[];
extern "C" const unsigned char elements_runtime_end[];

namespace elements::builder {

std::span<const unsigned char> embedded_runtime() {
  return {elements_runtime_start, elements_runtime_end};
}

}  // namespace elements::builder
