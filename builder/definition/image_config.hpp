// An image's own run settings (the "config" object of an OCI or docker image
// config) and how they fill what a definition leaves out (DESIGN.md section 4).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace elements::builder {

struct image_config {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // "NAME=value", as the image lists them
  std::string working_dir;
  std::string user;
  std::string os;            // "linux"
  std::string architecture;  // "amd64", "arm64", ...
};

// The OCI name of this machine's architecture ("amd64" on x86-64).
const char* host_architecture();

// Reads an image config document; `where` prefixes messages. Throws
// elements::error (a failed build) when a field has the wrong type.
image_config parse_image_config(const nlohmann::json& doc, const std::string& where);

// Fills a definition's "run" document, before it is validated, where the
// definition is silent: "command" from Entrypoint and Cmd, "env" entries it
// does not set from Env, "workdir" from WorkingDir. The image's values are
// literal, so "$" is written "$$" to keep the runtime from expanding it.
// Returns warnings, naming the image as `from`, for what cannot be carried
// over (a user other than root, a variable the runtime reserves).
std::vector<std::string> apply_image_config(nlohmann::json& run, const image_config& image,
                                            const std::string& from);

}  // namespace elements::builder
