# Size and static-link flags for the runtime stub: it is prepended to every
# AppImage, so each byte counts and no dynamic loader may be involved.

# Code that ends up in the runtime (common/ and runtime/): optimised for size,
# one section per function so the linker can drop what is unused, and
# link-time optimisation across the project's own code.
function(elements_size_optimized target)
  target_compile_options(${target} PRIVATE -Os -ffunction-sections -fdata-sections)
  # Sanitized builds are for finding bugs, not bytes: no LTO, which clang
  # would need its linker plugin for.
  if(NOT ELEMENTS_SANITIZE)
    set_property(TARGET ${target} PROPERTY INTERPROCEDURAL_OPTIMIZATION ON)
  endif()
endfunction()

function(elements_static_runtime target)
  elements_size_optimized(${target})
  target_compile_options(${target} PRIVATE -fno-asynchronous-unwind-tables -fno-ident)
  target_link_options(${target} PRIVATE -Wl,--gc-sections -Wl,-z,noexecstack -Wl,--build-id=none)
  # ASan cannot be linked statically (sanitizers.cmake).
  if(NOT ELEMENTS_SANITIZE)
    target_link_options(${target} PRIVATE -static)
  endif()
endfunction()
