#include "builder/publish/assemble.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

#include "builder/publish/output_file.hpp"
#include "builder/squashfs/block_digests.hpp"
#include "elements/error.hpp"
#include "elements/unique_fd.hpp"

namespace elements::builder {
runtime_image load_runtime(std::span<const unsigned char> bytes, std::string name) {
  runtime_image rt{std::move(name), {}, {}};
  // read_elf_extent reads a file; a memory file gives it one without
  // touching the disk.
  unique_fd fd(::memfd_create("elements-runtime", MFD_CLOEXEC));
  if (!fd) throw_errno("create a memory file for", rt.name);
  write_at(fd.get(), bytes, 0, rt.name);
  try {
    rt.extent = payload::read_elf_extent(fd.get(), rt.name);
  } catch (const error& e) {
    throw usage_error(std::string(e.what()) + " (expected an elements runtime)");
  }
  if (!rt.extent.appimage_magic)
    throw usage_error(rt.name +
                      ": not an AppImage type 2 runtime (no 'AI' 0x02 at e_ident[8..10])");
  // A runtime given as an existing AppImage carries its old payload: cut it.
  rt.bytes.assign(bytes.begin(),
                  bytes.begin() + static_cast<std::ptrdiff_t>(
                                      std::min<std::uint64_t>(bytes.size(), rt.extent.end)));
  rt.bytes.resize(rt.extent.end, 0);
  return rt;
}

runtime_image load_runtime_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw usage_error("--runtime: cannot read " + path.native() + ": " + std::strerror(errno));
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  if (in.bad()) throw usage_error("--runtime: cannot read " + path.native());
  return load_runtime(bytes, path.native());
}

squashfs_result assemble(const runtime_image& runtime, const node_ptr& payload,
                         const assembly& how) {
  std::vector<unsigned char> head = runtime.bytes;
  // A runtime cut from a signed file still holds that file's signature.
  for (const auto& sec : {runtime.extent.sha256_sig, runtime.extent.sig_key})
    if (sec) std::fill_n(head.data() + sec->offset, sec->size, 0);
  if (!how.update_information.empty()) {
    const auto& sec = runtime.extent.upd_info;
    if (!sec)
      throw usage_error(runtime.name + " has no .upd_info section for the update information");
    if (how.update_information.size() > sec->size)
      throw usage_error("the update information is " +
                        std::to_string(how.update_information.size()) + " bytes; " + runtime.name +
                        " holds at most " + std::to_string(sec->size));
    auto* at = head.data() + sec->offset;
    std::fill_n(at, sec->size, 0);
    std::memcpy(at, how.update_information.data(), how.update_information.size());
  }

  output_file out(how.output);
  write_at(out.fd(), head, 0, how.output.native());
  squashfs_options options = how.squashfs;
  options.file_name = how.output.native();
  options.write_behind = true;  // commit() syncs it
  squashfs_result result = write_squashfs(out.fd(), runtime.extent.end, payload, options);
  if (!payload::has_squashfs_at(out.fd(), runtime.extent.end))
    throw error(how.output.native() + ": the payload is missing after writing it",
                exit_build_failed);
  // Before sealing: the signature covers the digests, so a signed file
  // vouches for every block the runtime checks against them.
  write_block_digests(out.fd(), runtime.extent.end, result.size, how.output.native());
  if (how.seal) how.seal(out.fd());
  out.commit();
  return result;
}

}  // namespace elements::builder
