// Signing a file the AppImage way (appimagetool --sign): an ASCII-armored,
// detached GnuPG signature of the SHA-256 hex digest of the file read with
// its .sha256_sig and .sig_key sections as zeros, stored in .sha256_sig, and
// the signer's public key, armored, in .sig_key.
#pragma once

#include <string>

#include "elements/payload.hpp"

namespace elements::builder {

struct signing_key {
  std::string fingerprint;  // of the primary key
  std::string user_id;      // its first user id, for messages
};

// Asks gpg for the one secret key KEY names (an id, fingerprint or user id
// part), before anything is built. Throws usage_error when there is none or
// more than one, error (exit 1) when gpg is missing.
signing_key find_signing_key(const std::string& key);

// The SHA-256 hex digest an AppImage signature signs.
std::string signed_digest(int fd, const payload::elf_extent& ext, const std::string& name);

// Signs the written file open at fd (read and write) in place.
void sign_file(int fd, const payload::elf_extent& ext, const std::string& name,
               const signing_key& key);

}  // namespace elements::builder
