#!/usr/bin/env bash
# Writes a man page from its template (man/*.in): @OPTIONS@ becomes the
# options of `ELEMENTS_PACK --help`, @FIELDS@ the schema reference
# (man/schema-reference.sh), and @VERSION@, @SCHEMADIR@, @RUNTIME@ and
# @EXAMPLEDIR@ the values given. So neither the options nor the fields are
# written twice.
#
#   man/make-man.sh TEMPLATE OUTPUT VERSION SCHEMADIR RUNTIME EXAMPLEDIR [ELEMENTS_PACK]
set -euo pipefail
shopt -s extglob

[[ $# -ge 6 ]] || {
  echo "usage: make-man.sh TEMPLATE OUTPUT VERSION SCHEMADIR RUNTIME EXAMPLEDIR [ELEMENTS_PACK]" >&2
  exit 2
}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
template=$1 output=$2 version=$3 schemadir=$4 runtime=$5 exampledir=$6 pack=${7:-}

roff() {  # TEXT: \ as \e, - as \-, no control character first
  local t=${1//\\/\\e}
  t=${t//-/\\-}
  [[ $t == [.\']* ]] && t="\\&$t"
  printf '%s' "$t"
}

# cxxopts lists "  -o, --output FILE   what it does" with the description
# continued on lines indented past the option column.
options() {
  local line opt='' desc='' word out
  emit() {
    [[ -n $opt ]] || return 0
    out=
    for word in $opt; do
      if [[ $word == -* ]]; then
        out+="\\fB$(roff "${word%,}")\\fR${word//[^,]/} "
      else
        out+="\\fI$(roff "$word")\\fR "
      fi
    done
    desc=${desc//+( )/ }
    printf '.TP\n%s\n%s\n' "${out% }" "$(roff "${desc% }")"
    opt=
  }
  while IFS= read -r line; do
    if [[ $line =~ ^\ {1,6}(-[^\ ]+(\ [^\ ]+)*)\ {2,}(.*)$ ]]; then
      emit
      opt=${BASH_REMATCH[1]} desc=${BASH_REMATCH[3]}
    elif [[ -n $opt && $line =~ ^\ {8,}([^\ ].*)$ ]]; then
      desc+=" ${BASH_REMATCH[1]}"
    else
      emit
    fi
  done < <("$pack" --help)
  emit
}

tmp=$output.tmp.$$
trap 'rm -f "$tmp"' EXIT
while IFS= read -r line; do
  case $line in
    @OPTIONS@) options ;;
    @FIELDS@) "$here/schema-reference.sh" man ;;
    *)
      line=${line//@VERSION@/$version}
      line=${line//@SCHEMADIR@/$schemadir}
      line=${line//@RUNTIME@/$runtime}
      printf '%s\n' "${line//@EXAMPLEDIR@/$exampledir}" ;;
  esac
done <"$template" >"$tmp"
mv "$tmp" "$output"
