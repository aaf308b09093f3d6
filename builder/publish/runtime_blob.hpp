// The runtime stub embedded in elements-pack at build time.
#pragma once

#include <span>

namespace elements::builder {

// The stripped runtime with its AppImage magic, as built next to elements-pack.
std::span<const unsigned char> embedded_runtime();

}  // namespace elements::builder
