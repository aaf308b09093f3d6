// --elements-verify: checks the file's AppImage signature (.sha256_sig) with
// the public key it carries (.sig_key), by the rules of AppImage's validate.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "runtime/image/self_image.hpp"

namespace elements::runtime {

// Prints "good signature by UID (key FINGERPRINT)" and returns 0. Throws
// error with status 1 when the file is unsigned or the signature does not
// match, and 125 when the check cannot run (gpgv missing).
int verify_signature(const self_image& self);

// The binary OpenPGP packets of an ASCII-armored block, std::nullopt when
// `armored` holds no well-formed block.
std::optional<std::string> dearmor(std::string_view armored);

}  // namespace elements::runtime
