#include "builder/publish/sign.hpp"

#include <unistd.h>

#include <sstream>
#include <vector>

#include "builder/digest.hpp"
#include "builder/publish/output_file.hpp"
#include "builder/steps/host_tool.hpp"
#include "elements/error.hpp"

namespace elements::builder {
namespace {

constexpr host_tool gpg{"gpg", "gnupg"};

// Field `n` (0-based) of a gpg --with-colons line.
std::string colon_field(const std::string& line, std::size_t n) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < n; ++i) {
    start = line.find(':', start);
    if (start == std::string::npos) return {};
    ++start;
  }
  return line.substr(start, line.find(':', start) - start);
}

void write_section(int fd, const std::optional<payload::section>& sec, const std::string& bytes,
                   const std::string& name, std::string_view what, std::string_view fix) {
  if (!sec)
    throw error(name + ": the runtime has no " + std::string(what) + " section", exit_build_failed);
  if (bytes.size() > sec->size)
    throw error("the " + std::string(what) + " is " + std::to_string(bytes.size()) +
                    " bytes; the runtime holds at most " + std::to_string(sec->size) +
                    " (hint: " + std::string(fix) + ")",
                exit_build_failed);
  // The section was zeroed when the file was assembled: what is not written
  // stays NUL padding.
  write_at(fd, bytes, sec->offset, name);
}

}  // namespace

signing_key find_signing_key(const std::string& key) {
  if (key.empty()) throw usage_error("--sign: needs a key id, fingerprint or user id");
  const auto listed =
      run_tool(gpg, {"--batch", "--with-colons", "--list-secret-keys", "--", key}, "");
  std::vector<signing_key> keys;
  std::istringstream lines(listed.out);
  bool want_fpr = false;
  for (std::string line; std::getline(lines, line);) {
    const std::string type = colon_field(line, 0);
    if (type == "sec") {
      keys.emplace_back();
      want_fpr = true;
    } else if (type == "fpr" && want_fpr) {
      keys.back().fingerprint = colon_field(line, 9);
      want_fpr = false;
    } else if (type == "uid" && !keys.empty() && keys.back().user_id.empty()) {
      keys.back().user_id = colon_field(line, 9);
    } else if (type == "ssb") {
      want_fpr = false;  // a subkey's fingerprint follows
    }
  }
  if (keys.empty())
    throw usage_error("--sign: gpg has no secret key \"" + key +
                      "\" (hint: gpg --list-secret-keys shows the keys; GNUPGHOME selects "
                      "another keyring)");
  if (keys.size() > 1) {
    std::string fprs;
    for (const auto& k : keys) fprs += (fprs.empty() ? "" : ", ") + k.fingerprint;
    throw usage_error("--sign: \"" + key + "\" names " + std::to_string(keys.size()) +
                      " secret keys (" + fprs + "); give one fingerprint");
  }
  return keys.front();
}

std::string signed_digest(int fd, const payload::elf_extent& ext, const std::string& name) {
  sha256_hasher hasher;
  payload::read_signed_bytes(fd, ext, name, [&](const unsigned char* data, std::size_t size) {
    hasher.update({data, size});
  });
  return hasher.digest().substr(std::string_view("sha256:").size());
}

void sign_file(int fd, const payload::elf_extent& ext, const std::string& name,
               const signing_key& key) {
  // Text mode and armor, as appimagetool signs: the signed data is the hex
  // digest, a line of text.
  const auto sig = run_tool(gpg,
                            {"--batch", "--yes", "--armor", "--textmode", "--detach-sign",
                             "--local-user", key.fingerprint},
                            signed_digest(fd, ext, name));
  if (sig.status != 0 || sig.out.empty())
    throw error("gpg could not sign with " + key.fingerprint + " (" + key.user_id +
                    "): " + last_line(sig.err) +
                    " (hint: unlock the key in gpg-agent, e.g. by signing anything with it once)",
                exit_build_failed);
  // Minimal: third-party certifications would only make the key larger.
  const auto pub = run_tool(
      gpg,
      {"--batch", "--armor", "--export-options", "export-minimal", "--export", key.fingerprint},
      "");
  if (pub.status != 0 || pub.out.empty())
    throw error(
        "gpg could not export the public key " + key.fingerprint + ": " + last_line(pub.err),
        exit_build_failed);
  write_section(fd, ext.sha256_sig, sig.out, name, "signature",
                "the signature of one key is far smaller; check the gpg configuration");
  write_section(fd, ext.sig_key, pub.out, name, "public key",
                "sign with a key that has fewer user ids and subkeys");
}

}  // namespace elements::builder
