// elements-pack convert: migration from the prototype's definitions —
// Singularity/Apptainer .def files with "#Elements." header lines — to the
// element.json of DESIGN.md section 4. What it reads:
//
// Header (keys in any case):
//   Bootstrap: localimage    From: rootfs            "from": "dir:rootfs"
//                            From: rootfs.tar.gz     "tar:rootfs.tar.gz"
//                            (.tar .tar.gz .tgz .tar.zst .tar.xz)
//   Bootstrap: oci           From: PATH[:REF]        "oci:PATH[:REF]"
//   Bootstrap: docker-archive From: PATH             "docker-archive:PATH"
//   Bootstrap: docker|library From: NAME[:TAG]       "oci:images/NAME:TAG", with a warning:
//                            elements-pack does not pull; the image is saved there with skopeo
//   Bootstrap: scratch                               "scratch"
//   Other header keys (Registry:, IncludeCmd:, ...) are ignored with a warning.
//
// "#Elements.KEY: VALUE" lines, before the first section. VALUE is taken as
// written: it is the runtime's own text, where ${NAME} expands and $$ is a $.
//   name: web                 "name" (default: the file's name without .def)
//   description: TEXT         run.description
//   arg: NAME FLAG...         one run.args entry per line ("args:" too), see below
//   env: NAME=VALUE           run.env (repeatable)
//   bind: SRC[:DST[:ro|rw]]   run.binds (repeatable; DST defaults to SRC)
//   pass-env: NAME...         run.passEnv (repeatable)
//   resolv: BOOL              run.resolvConf
//   root-copyup: BOOL         run.writable "tmpfs" (true) or "none" (false)
//   network: host|none        run.network
//   ps1-color: 0..99          run.ps1Color
//   workdir: /PATH, user: root|keep, hostname: TEXT, extra-args: BOOL — the run field of that name
// BOOL is true, false, yes, no, 1 or 0. Keys but env, bind, pass-env and arg
// may be given once.
//
// Arg flags, in words split as sh splits them ('...' and "..." group words):
//   -X                          the short option -X
//   --positional                a positional instead of an option
//   --env VAR | --bind /PATH | --instance | --output
//                               exactly one: what the value does
//   --ro                        a read-only bind
//   --type str|int|bool|path    --default VALUE    --required | --optional    --help TEXT
// such as
//   #Elements.arg: port -p --env PORT --type int --default 8080 --help "port to listen on"
//   #Elements.arg: docroot --positional --bind /srv --ro
//   #Elements.arg: name -n --instance
//   #Elements.arg: out -o --output
//
// Sections:
//   %files               "SRC [DEST]" lines: build {"copy": SRC, "to": DEST}, DEST
//                        defaulting to /SRC. Relative paths start at the .def's folder,
//                        which is where its element.json belongs.
//   %post [-c SHELL]     build {"run": [SHELL, "-c", BODY]} (SHELL defaults to /bin/sh).
//                        Build steps are not expanded, so BODY stays as written.
//   %runscript [-c SHELL] run.command [SHELL, "-c", BODY, NAME] with run.extraArgs, so
//                        the words after -- reach BODY as "$@". The runtime expands every
//                        string of the spec, so each $ of BODY is written $$.
//   %environment         "[export] NAME=VALUE" lines: run.env, each $ written $$. No shell
//                        runs them, so what sh would expand stays literal (with a warning).
//   %labels %help %test %setup %startscript %arguments %app*: ignored with a warning.
// Without %runscript the command comes from the image's config (oci,
// docker-archive, docker, library); a folder or tarball has none to give.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace elements::builder {

struct conversion {
  nlohmann::ordered_json element;     // the element.json, fields in the schema's order
  std::vector<std::string> warnings;  // "FILE:LINE: ..." — what did not carry over
};

// Converts the text of a .def. `file` names it in messages, and its folder
// anchors relative paths, as the element.json's would when saved beside it.
// The result has passed the builder's own definition loader (with "run" build
// steps and a command the image config would give set aside). Throws
// usage_error "FILE:LINE: message", or "FILE: message" for what no one line
// causes.
conversion convert_def(std::string_view text, const std::filesystem::path& file);

// The same for a file on disk.
conversion convert_def_file(const std::filesystem::path& file);

}  // namespace elements::builder
