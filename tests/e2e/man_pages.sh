#!/usr/bin/env bash
# The built man pages format without a warning from man and groff, and say
# what they must: elements-pack(1) every option of `elements-pack --help`, its
# subcommand and exit statuses; elements-spec(5) every field of both schemas.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

command -v man >/dev/null || e2e_skip "man is missing (install man-db: scripts/deps.sh)"
command -v groff >/dev/null || e2e_skip "groff is missing (install groff-base: scripts/deps.sh)"
e2e_workdir
pages=$E2E_BUILD/man

for page in elements-pack.1 elements-spec.5; do
  [[ -f $pages/$page.gz ]] || e2e_abort "$pages/$page.gz was not built (target man-${page%.*})"
  zcat "$pages/$page.gz" >"$E2E_WORK/$page"
  # -ww: every groff warning; -z: format, print nothing.
  expect_eq "groff -ww -z -man $page warns of nothing" \
    "$(groff -ww -z -man "$E2E_WORK/$page" 2>&1)" ""
  rendered=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$pages/$page.gz" 2>"$E2E_WORK/man.err")
  expect_eq "man --warnings -l $page warns of nothing" "$(<"$E2E_WORK/man.err")" ""
  printf '%s\n' "$rendered" >"$E2E_WORK/$page.txt"
done

# Rendered, a man page writes - as U+2010 where the source lacks \-: options
# must stay ASCII so that they can be copied.
pack_page=$(<"$E2E_WORK/elements-pack.1.txt")
for heading in NAME SYNOPSIS DESCRIPTION OPTIONS COMMANDS "EXIT STATUS" EXAMPLES "SEE ALSO"; do
  expect_line "elements-pack(1) has the section $heading" "$pack_page" "$heading"
done
while read -r option; do
  if grep -qE -- "^ +(-[A-Za-z], )?$option( |\$)" <<<"$pack_page"; then
    e2e_pass "elements-pack(1) lists $option from --help"
  else
    e2e_fail "elements-pack(1) lacks $option, which --help lists"
  fi
done < <("$E2E_PACK" --help | grep -oE -- '^ {1,6}(-[A-Za-z], )?--[a-z-]+' | grep -oE -- '--[a-z-]+')
expect_match "elements-pack(1) describes convert" "$pack_page" $'\n       convert FILE.def\n'
expect_match "elements-pack(1) describes cache" "$pack_page" $'\n       cache ls\n       cache prune --all | --older-than DAYS\n'
expect_match "elements-pack(1) describes export" "$pack_page" $'\n       export DEFINITION oci:DIR\\[:TAG\\]\n'
for status in 0 1 2; do
  expect_match "elements-pack(1) explains exit status $status" "$pack_page" $'\n       '"$status"$'      [A-Z]'
done

# Every field path of both schemas is a tagged paragraph of elements-spec(5).
spec_source=$(<"$E2E_WORK/elements-spec.5")
for schema in element.schema.json spec.schema.json; do
  count=0
  while read -r path; do
    count=$((count + 1))
    expect_line "elements-spec(5) documents $path ($schema)" "$spec_source" ".B ${path//-/\\-}"
  done < <(jq -n --arg file "$schema" --slurpfile element "$E2E_SOURCE/schema/element.schema.json" \
    --slurpfile spec "$E2E_SOURCE/schema/spec.schema.json" -f "$E2E_SOURCE/man/schema-fields.jq" |
    jq -r '.fields[].path')
  ((count >= 10)) || e2e_fail "only $count fields found in $schema"
done
expect_match "elements-spec(5) carries the schemas' descriptions" \
  "$(tr -s ' \n' ' ' <"$E2E_WORK/elements-spec.5.txt")" 'There is no command substitution, globbing or word splitting'

e2e_done
