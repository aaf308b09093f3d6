// The --appimage-* words, as the AppImage type 2 runtime does them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "self_image.hpp"

namespace elements::runtime {

// Handles args[0] when it is an --appimage-* word that ends the run, or
// --elements-verify (like --appimage-signature, about the file itself), and
// returns the exit status; std::nullopt when args[0] is not one of them.
// --appimage-extract-and-run is not handled here (it runs the container).
std::optional<int> handle_appimage_option(const self_image& self,
                                          const std::vector<std::string>& args);

// --appimage-extract-and-run: extracts the payload into a fresh temporary
// directory and returns its path; the caller runs from it and removes it.
std::string extract_for_run(const self_image& self);

}  // namespace elements::runtime
