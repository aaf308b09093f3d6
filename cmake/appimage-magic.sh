#!/bin/sh
# Writes the AppImage type 2 magic ('A' 'I' 0x02) at e_ident[8..10] of an ELF file.
set -e
printf 'AI\002' | dd of="$1" bs=1 seek=8 conv=notrunc status=none
