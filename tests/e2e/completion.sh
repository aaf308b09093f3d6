#!/usr/bin/env bash
# The shell completions of elements-pack. bash: bash-completion and our
# script sourced, the completion function called with the words a command
# line splits into; checks COMPREPLY. zsh: the script parses, compinit picks
# it up for elements-pack, and it lists every option of --help.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

bash_completion=/usr/share/bash-completion/bash_completion
[[ -f $bash_completion ]] || e2e_skip "bash-completion is missing (install it: scripts/deps.sh)"
e2e_workdir
script=$E2E_SOURCE/completions/elements-pack.bash
mkdir -p "$E2E_WORK/bin" "$E2E_WORK/defs/sub" "$E2E_WORK/defs/rootfs"
ln -s "$E2E_PACK" "$E2E_WORK/bin/elements-pack"
touch "$E2E_WORK/defs/element.json" "$E2E_WORK/defs/notes.txt" "$E2E_WORK/defs/web.def" \
  "$E2E_WORK/defs/image.tar"

# Prints COMPREPLY, one per line, for the command line LINE with the cursor
# at its end, split into COMP_WORDS as readline splits it (at blanks, and
# around the : and = of COMP_WORDBREAKS). Runs in a fresh interactive bash,
# as a user's shell would.
complete_line() {  # LINE
  local line=$1
  # shellcheck disable=SC2016 # expanded by the inner bash
  (cd "$E2E_WORK/defs" && env -i PATH="$E2E_WORK/bin:/usr/bin:/bin" HOME="$E2E_WORK" \
    LINE="$line" BC="$bash_completion" SCRIPT="$script" bash --norc --noprofile -c '
    source "$BC"
    source "$SCRIPT"
    words=()
    rest=$LINE
    while [[ -n $rest ]]; do
      if [[ $rest =~ ^[[:blank:]]+ ]]; then rest=${rest:${#BASH_REMATCH[0]}}; continue; fi
      if [[ $rest =~ ^[:=]+ ]]; then words+=("${BASH_REMATCH[0]}")
      else [[ $rest =~ ^[^[:blank:]:=]+ ]]; words+=("${BASH_REMATCH[0]}"); fi
      rest=${rest:${#BASH_REMATCH[0]}}
    done
    # A blank at the end: the cursor starts a new, empty word.
    [[ $LINE =~ [[:blank:]]$ ]] && words+=("")
    COMP_WORDS=("${words[@]}")
    COMP_CWORD=$((${#words[@]} - 1))
    COMP_LINE=$LINE
    COMP_POINT=${#LINE}
    COMPREPLY=()
    _elements_pack elements-pack "${words[COMP_CWORD]}" "${words[COMP_CWORD - 1]}"
    printf "%s\n" "${COMPREPLY[@]}" | sort')
}

expect_completes() {  # DESCRIPTION LINE EXPECTED(newline-separated, sorted)
  expect_eq "$1 ('$2')" "$(complete_line "$2")" "$3"
}

expect_completes "options by prefix" "elements-pack --pro" "--progress"
expect_completes "short and long options" "elements-pack -q" "-q"
expect_completes "--progress values" "elements-pack --progress " $'always\nauto\nnever'
expect_completes "--progress=VALUE" "elements-pack --progress=al" "always"
expect_completes "--compression values" "elements-pack --compression x" $'xz\nxz:9'
# After the colon readline replaces only what follows it.
expect_completes "--compression levels" "elements-pack --compression zstd:1" $'15\n19'
expect_completes "--from kinds" "elements-pack --from d" $'dir:\ndocker-archive:'
expect_completes "--from scratch" "elements-pack --from sc" "scratch"
expect_completes "--from dir: folders" "elements-pack --from dir:r" "rootfs"
expect_completes "--from tar: files" "elements-pack --from tar:im" "image.tar"
expect_completes "--output files" "elements-pack -o no" "notes.txt"
expect_completes "a definition: .json files, folders and the subcommands" "elements-pack " \
  $'cache\nconvert\nelement.json\nexport\nrootfs\nsub'
expect_completes "cache's actions" "elements-pack cache " $'ls\nprune'
expect_completes "cache's options" "elements-pack cache prune --" $'--all\n--help\n--older-than'
expect_completes "a definition after options" "elements-pack -q e" "element.json"
expect_completes "convert takes .def files" "elements-pack convert " $'rootfs\nsub\nweb.def'
expect_completes "convert's options" "elements-pack convert --" $'--help\n--quiet'
expect_completes "export's options" "elements-pack export --" \
  $'--from\n--help\n--quiet\n--source-date-epoch'
expect_completes "export takes a definition" "elements-pack export e" "element.json"
expect_completes "then an oci: target" "elements-pack export element.json " "oci:"
expect_completes "oci: folders" "elements-pack export --from dir:rootfs element.json oci:s" "sub"
expect_completes "export's --from" "elements-pack export --from sc" "scratch"

# Every option --help lists completes, and nothing else does.
help_options=$("$E2E_PACK" --help | grep -oE -- '^ {1,6}(-[A-Za-z], )?--[a-z-]+' |
  grep -oE -- '-?-[A-Za-z][a-z-]*' | sort -u)
expect_eq "every option of --help completes" "$(complete_line "elements-pack -")" "$help_options"

# zsh: its own parser, then compinit with the script's folder first in fpath.
if command -v zsh >/dev/null; then
  zsh_script=$E2E_SOURCE/completions/_elements-pack
  expect_eq "zsh -n parses _elements-pack" "$(zsh -n "$zsh_script" 2>&1)" ""
  # shellcheck disable=SC2016 # expanded by zsh
  expect_eq "compinit binds _elements-pack to elements-pack" \
    "$(HOME=$E2E_WORK zsh -f -c 'fpath=($1 $fpath); autoload -Uz compinit; compinit -u -d $2
        print -r -- ${_comps[elements-pack]}' zsh "$(dirname "$zsh_script")" "$E2E_WORK/zcompdump")" \
    "_elements-pack"
  while read -r option; do
    if grep -qE -- "(^|[{ ,'])${option}[]=+,'}[]" "$zsh_script"; then
      e2e_pass "zsh completes $option"
    else
      e2e_fail "$option of elements-pack --help is missing from completions/_elements-pack"
    fi
  done <<<"$help_options"
else
  echo "zsh is missing: its completion is not checked (install zsh: scripts/deps.sh)" >&2
fi

e2e_done
