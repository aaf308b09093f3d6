// `elements-pack export DEFINITION oci:DIR[:TAG]`: the element as an OCI
// image layout (image-spec 1.0) that podman, skopeo, umoci or a Kubernetes
// node can run: one gzip layer of the rootfs, and a config whose
// Entrypoint, Env, WorkingDir and User are the definition's "run".
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "builder/definition/definition.hpp"
#include "builder/tree.hpp"

namespace elements::builder {

struct oci_target {
  std::filesystem::path dir;
  std::string tag = "latest";
};

// Parses "oci:DIR[:TAG]": TAG is what follows the last ":" when it is a
// valid tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127}). Throws usage_error.
oci_target parse_oci_target(std::string_view text);

// The image config's "config" object for `def`. Spec strings are expanded
// with what is known before a run (arg defaults, ELEMENTS_NAME; nothing of
// the host); what needs more is left out and named in `warnings`.
nlohmann::json oci_image_config(const definition& def, std::vector<std::string>& warnings);

struct oci_export {
  std::string manifest_digest;   // "sha256:..."
  std::uint64_t layer_size = 0;  // the gzip layer's bytes
};

// Throws usage_error unless target.dir may be written: missing or an empty
// folder, in a folder that exists. Returns whether it exists. Checked
// before the rootfs is read, and again when writing.
bool check_oci_target(const oci_target& target);

// Writes the layout to target.dir, which must not exist or be an empty
// folder (else usage_error): built beside it and renamed, so it appears
// whole or not at all. The same tree, definition and epoch give the same
// bytes. `epoch` clamps mtimes and sets "created".
oci_export export_oci(const node_ptr& rootfs, const definition& def, const oci_target& target,
                      std::optional<std::int64_t> epoch, std::vector<std::string>& warnings);

}  // namespace elements::builder
