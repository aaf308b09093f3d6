// The icon of an element whose definition names none: desktop environments
// and AppImage tools expect one.
#pragma once

#include <span>

namespace elements::builder {

std::span<const unsigned char> default_icon_png();

}  // namespace elements::builder
