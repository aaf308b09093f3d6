// Packing and exporting: the definition, its source and build steps made
// into one rootfs, written as an executable file or as an OCI image layout.
#include <ctime>
#include <iostream>

#include "builder/commands.hpp"
#include "builder/definition/definition.hpp"
#include "builder/progress.hpp"
#include "builder/publish/assemble.hpp"
#include "builder/publish/export_oci.hpp"
#include "builder/publish/runtime_blob.hpp"
#include "builder/publish/sign.hpp"
#include "builder/publish/zsync.hpp"
#include "builder/sources/source.hpp"
#include "builder/squashfs/payload_layout.hpp"
#include "builder/steps/build_steps.hpp"
#include "elements/error.hpp"

namespace elements::builder {
namespace {

// The container's root filesystem: the source, the build steps, and the
// mount points the runtime needs.
node_ptr build_rootfs(definition& def, const made_attrs& made, const pack_options& opt,
                      progress& say) {
  source& from = open_rootfs_source(def);
  say.phase("reading the rootfs from " + from.ref().text);
  from.observe_layers([&](const std::string& name, std::uint64_t bytes, std::size_t number,
                          std::size_t count) { say.layer(name, bytes, number, count); });
  node_ptr rootfs = from.read_tree(made);
  for (const auto& warning : from.warnings()) say.warn(warning);
  // Copy and run steps in order; run steps in a rootless container, cached.
  build_options steps;
  steps.use_cache = !opt.no_cache;
  steps.show_output = !opt.quiet;
  steps.phase = [&](const std::string& m) { say.phase(m); };
  steps.warn = [&](const std::string& m) { say.warn(m); };
  steps.output = [](std::string_view line) { std::cerr << line << std::flush; };
  apply_build_steps(rootfs, def, made, steps);
  // The rootfs is mounted read-only: what the runtime mounts over must exist.
  for (const auto& warning : add_mount_points(rootfs, def.run, made)) say.warn(warning);
  return rootfs;
}

}  // namespace

int run_pack(const pack_options& opt) {
  progress say(opt.progress, opt.quiet);

  // The whole definition is checked before anything is read or written.
  definition def = load_definition(opt.definition, opt.from);
  for (const auto& warning : def.warnings) say.warn(warning);
  open_rootfs_source(def);
  if (opt.check) {
    std::cout << to_json(def.run).dump(2) << '\n';
    return exit_ok;
  }

  // The outside tools the file needs are asked before the long part.
  const auto signer = opt.sign ? std::optional(find_signing_key(*opt.sign)) : std::nullopt;
  const bool zsync = wants_zsync(def.update_information);
  if (zsync) require_zsyncmake();

  // Entries the builder makes carry the epoch (0 without one), so the same
  // inputs give the same tree; only the image's own time is "now".
  const made_attrs made{0, 0, opt.source_date_epoch.value_or(0)};
  node_ptr rootfs = build_rootfs(def, made, opt, say);

  const runtime_image runtime = opt.runtime
                                    ? load_runtime_file(*opt.runtime)
                                    : load_runtime(embedded_runtime(), "the embedded runtime");
  node_ptr payload = make_payload_tree(def, memory_file(runtime.bytes, "AppRun"), rootfs, made);

  assembly how;
  how.output = opt.output.value_or(def.name + ".AppImage");
  how.update_information = def.update_information;
  how.squashfs.comp = opt.comp;
  how.squashfs.clamp_mtime = opt.source_date_epoch;
  how.squashfs.mkfs_time =
      static_cast<std::uint32_t>(opt.source_date_epoch.value_or(std::time(nullptr)));
  how.squashfs.on_data = [&](std::uint64_t done, std::uint64_t total) { say.data(done, total); };
  // Signed first: the .zsync describes the file as published.
  std::string zsync_control;
  how.seal = [&](int fd) {
    if (signer) {
      say.phase("signing with " + signer->fingerprint + " (" + signer->user_id + ")");
      sign_file(fd, runtime.extent, how.output.native(), *signer);
    }
    if (zsync) zsync_control = make_zsync(fd, how.output);
  };
  say.phase("writing " + how.output.native() + " (" + opt.comp.to_string() + ")");
  const auto written = assemble(runtime, payload, how);
  if (zsync) say.phase("wrote " + write_zsync(how.output, zsync_control).native());
  say.phase("wrote " + how.output.native() + ": " + std::to_string(written.inodes) + " inodes, " +
            std::to_string((runtime.bytes.size() + written.size) / 1024) + " KiB");
  return exit_ok;
}

// The same rootfs and "run" as an OCI image layout, for podman or Kubernetes.
int run_export(const pack_options& opt) {
  progress say(opt.progress, opt.quiet);
  const oci_target target = parse_oci_target(*opt.export_to);
  check_oci_target(target);
  definition def = load_definition(opt.definition, opt.from);
  for (const auto& warning : def.warnings) say.warn(warning);
  open_rootfs_source(def);
  const made_attrs made{0, 0, opt.source_date_epoch.value_or(0)};
  const node_ptr rootfs = build_rootfs(def, made, opt, say);
  say.phase("writing " + target.dir.native() + " (OCI image layout, tag " + target.tag + ")");
  std::vector<std::string> warnings;
  const oci_export done = export_oci(rootfs, def, target, opt.source_date_epoch, warnings);
  for (const auto& warning : warnings) say.warn(warning);
  say.phase("wrote " + target.dir.native() + ": manifest " + done.manifest_digest + ", layer " +
            std::to_string(done.layer_size / 1024) + " KiB");
  return exit_ok;
}

}  // namespace elements::builder
