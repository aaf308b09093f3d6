// The .zsync control file published next to the file, so AppImage updaters
// (zsync, AppImageUpdate) fetch only the blocks that changed.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace elements::builder {

// True when the update information's transport (the text before the first
// '|') is one of AppImage's zsync transports: zsync, gh-releases-zsync,
// pling-v1-zsync and the like.
bool wants_zsync(std::string_view update_information);

// Checks that zsyncmake is there, before anything is built.
void require_zsyncmake();

// The .zsync control file (as zsyncmake writes it) of the file open at fd,
// to be published as `output` with the .zsync beside it: its URL is
// relative, the file's own name, as appimagetool writes it.
std::string make_zsync(int fd, const std::filesystem::path& output);

// Writes `control` to OUTPUT.zsync, whole or not at all; returns its path.
std::filesystem::path write_zsync(const std::filesystem::path& output, const std::string& control);

}  // namespace elements::builder
