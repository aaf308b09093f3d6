#include "runtime/image/signature_check.hpp"

#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "elements/error.hpp"
#include "elements/process.hpp"
#include "elements/read_file.hpp"
#include "elements/unique_fd.hpp"
#include "runtime/image/sha256.hpp"

extern char** environ;

namespace elements::runtime {
namespace {

constexpr int exit_bad_signature = 1;

// A memory file the child inherits (no close-on-exec): gpgv opens it as
// /dev/fd/N, so nothing is written to disk and nothing is left behind.
unique_fd shared_memory_file(const char* name, std::string_view content) {
  unique_fd fd(::memfd_create(name, 0));
  if (!fd) throw_errno("create a memory file for", name);
  for (std::size_t done = 0; done < content.size();) {
    ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("write", name);
    done += static_cast<std::size_t>(n);
  }
  return fd;
}

std::string fd_path(const unique_fd& fd) {
  return "/dev/fd/" + std::to_string(fd.get());
}

// The words after "[GNUPG:] KEYWORD " of gpgv's status line KEYWORD, or "".
std::string status_line(const std::string& status, std::string_view keyword) {
  const std::string tag = "[GNUPG:] " + std::string(keyword) + " ";
  for (std::size_t at = 0; (at = status.find(tag, at)) != std::string::npos; at += tag.size())
    if (at == 0 || status[at - 1] == '\n')
      return status.substr(at + tag.size(), status.find('\n', at) - at - tag.size());
  return {};
}

std::string after_word(const std::string& s, std::size_t words) {
  std::size_t at = 0;
  for (std::size_t i = 0; i < words && at != std::string::npos; ++i) {
    at = s.find(' ', at);
    if (at != std::string::npos) ++at;
  }
  return at == std::string::npos ? std::string() : s.substr(at);
}

std::string digest_of(const self_image& self) {
  sha256 hash;
  payload::read_signed_bytes(
      self.file.fd.get(), self.extent, self.file.path,
      [&](const unsigned char* data, std::size_t size) { hash.update(data, size); });
  return sha256::hex(hash.digest());
}

struct gpgv_result {
  int exit_status = 0;   // 128+N when signal N ended it
  std::string status;    // its --status-fd lines
  std::string messages;  // its stderr
};

// gpgv (every apt-based system has it) checks the signature against a
// keyring holding only the file's own key.
gpgv_result run_gpgv(const std::string& key_packets, const std::string& signature,
                     const std::string& digest) {
  const unique_fd key_fd = shared_memory_file("sig_key", key_packets);
  const unique_fd sig_fd = shared_memory_file("sha256_sig", signature);
  const unique_fd digest_fd = shared_memory_file("digest", digest);
  unique_fd status(::memfd_create("gpgv-status", MFD_CLOEXEC));
  unique_fd messages(::memfd_create("gpgv-stderr", MFD_CLOEXEC));
  if (!status || !messages) throw_errno("create a memory file for", "gpgv");

  const std::string args[] = {"gpgv",          "--status-fd",     "1", "--keyring", fd_path(key_fd),
                              fd_path(sig_fd), fd_path(digest_fd)};
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  scope_exit release([&] { posix_spawn_file_actions_destroy(&actions); });
  posix_spawn_file_actions_adddup2(&actions, status.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, messages.get(), 2);
  pid_t pid = 0;
  if (int rc = ::posix_spawnp(&pid, "gpgv", &actions, nullptr, argv.data(), environ)) {
    if (rc == ENOENT)
      throw error("gpgv: not found in PATH, needed to check the signature (hint: install gpgv)");
    throw_errno("start", "gpgv", rc);
  }
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0)
    if (errno != EINTR) throw_errno("wait for", "gpgv");
  return {status_of(wstatus), read_from_start(status.get(), "the status of gpgv"),
          read_from_start(messages.get(), "the messages of gpgv")};
}

}  // namespace

std::optional<std::string> dearmor(std::string_view armored) {
  static constexpr std::string_view begin = "-----BEGIN PGP ";
  auto at = armored.find(begin);
  if (at == std::string_view::npos) return std::nullopt;
  // Armor headers ("Comment: ...") end at the first empty line.
  at = armored.find("\n\n", at);
  const auto crlf = armored.find("\r\n\r\n", armored.find(begin));
  if (crlf != std::string_view::npos && (at == std::string_view::npos || crlf < at)) at = crlf + 2;
  if (at == std::string_view::npos) return std::nullopt;
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (std::size_t i = at + 2; i < armored.size(); ++i) {
    const char c = armored[i];
    // The checksum line ("=XXXX") and the END line close the data.
    if ((c == '=' && (armored[i - 1] == '\n')) || c == '-') break;
    int v = -1;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+')
      v = 62;
    else if (c == '/')
      v = 63;
    else if (c == '=' || c == '\n' || c == '\r' || c == ' ')
      continue;
    else
      return std::nullopt;
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    if (++count == 4) {
      out += static_cast<char>((bits >> 16) & 0xff);
      out += static_cast<char>((bits >> 8) & 0xff);
      out += static_cast<char>(bits & 0xff);
      bits = 0;
      count = 0;
    }
  }
  // A final group of 2 or 3 characters carries 1 or 2 bytes.
  if (count == 2) out += static_cast<char>((bits >> 4) & 0xff);
  if (count == 3) {
    out += static_cast<char>((bits >> 10) & 0xff);
    out += static_cast<char>((bits >> 2) & 0xff);
  }
  if (count == 1 || out.empty()) return std::nullopt;
  return out;
}

int verify_signature(const self_image& self) {
  const std::string sig = read_section(self, self.extent.sha256_sig);
  const std::string key = read_section(self, self.extent.sig_key);
  if (sig.empty())
    throw error("not signed: .sha256_sig is empty (hint: sign it with elements-pack --sign KEY)",
                exit_bad_signature);
  const auto key_packets = dearmor(key);
  if (!key_packets)
    throw error(".sig_key holds no armored OpenPGP public key to check the signature with",
                exit_bad_signature);

  const gpgv_result r = run_gpgv(*key_packets, sig, digest_of(self));
  const std::string valid = status_line(r.status, "VALIDSIG");
  const std::string good = status_line(r.status, "GOODSIG");
  if (r.exit_status == 0 && !valid.empty() && !good.empty()) {
    // VALIDSIG's last word is the primary key's fingerprint.
    const std::string line = self.file.path + ": good signature by " + after_word(good, 1) +
                             " (key " + valid.substr(valid.rfind(' ') + 1) + ")\n";
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
    return 0;
  }
  if (const std::string bad = status_line(r.status, "BADSIG"); !bad.empty())
    throw error("BAD signature by " + after_word(bad, 1) +
                    ": the file changed after it was signed (hint: download or build it again)",
                exit_bad_signature);
  for (const char* expired : {"EXPKEYSIG", "REVKEYSIG", "EXPSIG"})
    if (const std::string s = status_line(r.status, expired); !s.empty())
      throw error("the signature by " + after_word(s, 1) + " is no longer valid (" + expired + ")",
                  exit_bad_signature);
  if (!status_line(r.status, "NO_PUBKEY").empty() || !status_line(r.status, "ERRSIG").empty())
    throw error("the signature is not by the key in .sig_key (hint: sign the file again)",
                exit_bad_signature);
  std::string why = r.messages;
  while (!why.empty() && why.back() == '\n') why.pop_back();
  throw error("gpgv could not check the signature: " + why.substr(why.rfind('\n') + 1),
              exit_bad_signature);
}

}  // namespace elements::runtime
