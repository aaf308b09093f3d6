# bash completion for elements-pack                         -*- shell-script -*-
# Options come from `elements-pack [cache|convert|export] --help`, so they are
# never out of date; their values, sources (dir:PATH, oci:PATH, ...),
# definitions and export targets are completed here. Needs bash-completion
# (_init_completion).

# The words of --from: a kind, then a path after its colon.
_elements_pack_source() {
  local kind=${cur%%:*} path
  if [[ $cur != *:* ]]; then
    compopt -o nospace 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -W 'dir: tar: oci: docker-archive: scratch' -- "$cur")
    [[ ${COMPREPLY[*]} == scratch ]] && compopt +o nospace 2>/dev/null
    return
  fi
  path=${cur#*:}
  case $kind in
    dir | oci) mapfile -t COMPREPLY < <(compgen -d -- "$path") ;;
    tar | docker-archive) mapfile -t COMPREPLY < <(compgen -f -- "$path") ;;
    *) return ;;
  esac
  COMPREPLY=("${COMPREPLY[@]/#/$kind:}")
  compopt -o filenames 2>/dev/null
  # Readline replaces only what follows the last colon of the word.
  __ltrim_colon_completions "$cur"
}

# The options SUBCOMMAND... --help lists: the leading words of its option
# lines ("  -o, --output FILE  ..."), not the examples below them.
_elements_pack_options() {
  "${words[0]}" "$@" --help 2>/dev/null | grep -E '^ {1,6}-' |
    awk '{ for (i = 1; i <= NF && $i ~ /^-/; i++) { sub(/,$/, "", $i); print $i } }' | sort -u
}

_elements_pack() {
  local cur prev words cword split
  _init_completion -s -n : || return

  # The subcommand, if any.
  local sub=
  [[ ${words[1]-} == @(cache|convert|export) ]] && sub=${words[1]}

  if [[ $sub == cache ]]; then
    if [[ $prev == --older-than ]]; then
      return
    elif [[ $cur == -* ]]; then
      mapfile -t COMPREPLY < <(compgen -W "$(_elements_pack_options cache)" -- "$cur")
    elif ((cword == 2)); then
      mapfile -t COMPREPLY < <(compgen -W 'ls prune' -- "$cur")
    fi
    return
  fi

  if [[ $sub == convert ]]; then
    if [[ $cur == -* ]]; then
      mapfile -t COMPREPLY < <(compgen -W "$(_elements_pack_options convert)" -- "$cur")
    else
      _filedir def
    fi
    return
  fi

  case $prev in
    -o | --output | --runtime)
      _filedir
      return ;;
    --from)
      _elements_pack_source
      return ;;
    --compression)
      mapfile -t COMPREPLY < <(compgen -W 'zstd zstd:9 zstd:15 zstd:19 xz xz:9 gzip gzip:9 lz4' -- "$cur")
      __ltrim_colon_completions "$cur"
      return ;;
    --progress)
      mapfile -t COMPREPLY < <(compgen -W 'auto always never' -- "$cur")
      return ;;
    --source-date-epoch)
      return ;;
  esac
  $split && return

  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(_elements_pack_options ${sub:+"$sub"})" -- "$cur")
    return
  fi
  # export's second word is the target, oci:DIR[:TAG].
  if [[ $sub == export && $cur != -* ]]; then
    local i words_before=0
    for ((i = 2; i < cword; i++)); do
      [[ ${words[i]} == -* || ${words[i - 1]} == --from || ${words[i - 1]} == --source-date-epoch ]] ||
        words_before=$((words_before + 1))
    done
    if ((words_before == 1)); then
      if [[ $cur == oci:* ]]; then
        mapfile -t COMPREPLY < <(compgen -d -- "${cur#oci:}")
        COMPREPLY=("${COMPREPLY[@]/#/oci:}")
        compopt -o filenames 2>/dev/null
        __ltrim_colon_completions "$cur"
      else
        compopt -o nospace 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -W 'oci:' -- "$cur")
      fi
      return
    fi
  fi
  # DEFINITION: an element.json (or any .json), or a folder holding one;
  # a subcommand as the first word.
  _filedir json
  if ((cword == 1)); then
    mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -W 'cache convert export' -- "$cur")
  fi
} &&
  complete -F _elements_pack elements-pack
