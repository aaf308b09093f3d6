# Size and static-link flags for the runtime stub: it is prepended to every
# AppImage, so each byte counts and no dynamic loader may be involved.
function(elements_static_runtime target)
  target_compile_options(${target} PRIVATE -Os -ffunction-sections -fdata-sections
                                           -fno-asynchronous-unwind-tables -fno-ident)
  target_link_options(${target} PRIVATE -static -Wl,--gc-sections -Wl,-z,noexecstack
                                        -Wl,--build-id=none)
endfunction()
