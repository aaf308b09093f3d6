#!/usr/bin/env bash
# `cmake --install` into a fresh prefix gives the documented layout, and the
# installed elements-pack alone (no build tree on PATH, none in its RUNPATH)
# packs the installed hello example, which then runs.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

e2e_workdir
prefix=$E2E_WORK/prefix
if ! cmake --install "${E2E_BUILD:?}" --prefix "$prefix" >"$E2E_WORK/install.log" 2>&1; then
  cat "$E2E_WORK/install.log" >&2
  e2e_abort "cmake --install $E2E_BUILD --prefix $prefix failed"
fi

for path in bin/elements-pack libexec/elements/elements-runtime \
  share/elements/schema/element.schema.json share/elements/schema/spec.schema.json \
  share/man/man1/elements-pack.1.gz share/man/man5/elements-spec.5.gz \
  share/bash-completion/completions/elements-pack share/zsh/site-functions/_elements-pack \
  share/zsh/vendor-completions/_elements-pack share/doc/elements/examples/hello/element.json; do
  if [[ -f $prefix/$path ]]; then e2e_pass "installed $path"
  else e2e_fail "cmake --install did not install $path"; fi
done
expect_eq "the runtime is installed as built" \
  "$(cmp "$prefix/libexec/elements/elements-runtime" "$E2E_RUNTIME" && echo same)" same
expect_eq "elements-pack has no RUNPATH into the build tree" \
  "$(readelf -d "$prefix/bin/elements-pack" | grep -E 'R(UN)?PATH' || true)" ""

# man finds both pages by name under the prefix.
if command -v man >/dev/null; then
  expect_eq "man finds elements-pack(1)" "$(man -M "$prefix/share/man" -w elements-pack)" \
    "$prefix/share/man/man1/elements-pack.1.gz"
  expect_eq "man finds elements-spec(5)" "$(man -M "$prefix/share/man" -w 5 elements-spec)" \
    "$prefix/share/man/man5/elements-spec.5.gz"
fi

# Only the prefix's bin and the system's: nothing of the build tree.
installed=(env -i PATH="$prefix/bin:/usr/bin:/bin" HOME="$E2E_WORK")
expect_eq "the installed elements-pack says its version" \
  "$("${installed[@]}" elements-pack --version)" "elements-pack $E2E_VERSION"

mkdir "$E2E_WORK/hello"
bash "$E2E_SOURCE/scripts/make-rootfs.sh" "$E2E_WORK/hello/rootfs"
cp "$prefix/share/doc/elements/examples/hello/element.json" "$E2E_WORK/hello/"
chmod -R a+rX "$E2E_WORK/hello"
for runtime in embedded installed; do
  extra=()
  [[ $runtime == embedded ]] || extra=(--runtime "$prefix/libexec/elements/elements-runtime")
  if ! (cd "$E2E_WORK/hello" && "${installed[@]}" elements-pack -q --source-date-epoch 1700000000 \
    "${extra[@]}" -o "$E2E_WORK/hello-$runtime.AppImage" element.json) 2>"$E2E_WORK/pack.err"; then
    e2e_abort "the installed elements-pack failed to pack the example: $(<"$E2E_WORK/pack.err")"
  fi
done
expect_eq "the embedded runtime and the installed one give the same file" \
  "$(cmp "$E2E_WORK/hello-embedded.AppImage" "$E2E_WORK/hello-installed.AppImage" && echo same)" same

# Running needs root or an unprivileged user's namespaces: the mode decides.
e2e_mode root
E2E_APP=$E2E_WORK/hello-embedded.AppImage
if e2e_ran 0 "$E2E_APP"; then
  expect_match "the example packed by the installed tool greets" "$E2E_OUT" \
    "^Hello from hello\.[a-z0-9]{12}! I am PID 2; PID 1 is the container's init \(elements-init\)\.\$"
fi

e2e_done
