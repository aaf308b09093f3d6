# Hardening builds, each in a build folder of its own (README, "Reliability"):
#
#   ELEMENTS_SANITIZE=ON  every C++ target with AddressSanitizer and
#                         UndefinedBehaviorSanitizer; scripts/test.sh builds
#                         it with clang++ and runs the unit and end-to-end
#                         suites on it.
#   ELEMENTS_FUZZ=ON      the libFuzzer targets of tests/fuzz/ (clang++ only);
#                         implies ELEMENTS_SANITIZE.
#
# ASan cannot be linked into a static executable, so under the option the
# runtime stub is linked dynamically (static_runtime.cmake) and its size
# budget does not apply. The runtime never re-executes itself: the container
# and its init are forks of the same process image, so the host's libasan
# stays mapped after pivot_root. The e2e probe is C, runs inside test rootfs
# that have no libc, and stays static and uninstrumented.

option(ELEMENTS_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(ELEMENTS_FUZZ "Build the libFuzzer targets in tests/fuzz (needs clang)" OFF)

if(ELEMENTS_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "ELEMENTS_FUZZ needs clang's libFuzzer, but the C++ compiler is "
                        "${CMAKE_CXX_COMPILER_ID}: configure a new build folder with "
                        "-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++")
  endif()
  set(ELEMENTS_SANITIZE ON)
endif()

if(ELEMENTS_SANITIZE)
  # -fno-sanitize-recover: undefined behaviour stops the program with exit
  # status 1 instead of a message a test could overlook.
  set(elements_sanitize_flags -fsanitize=address -fsanitize=undefined
                              -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  if(ELEMENTS_FUZZ)
    # Coverage for libFuzzer in all the code the targets reach; only the
    # targets themselves link libFuzzer's main.
    list(APPEND elements_sanitize_flags -fsanitize=fuzzer-no-link)
  endif()
  add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:${elements_sanitize_flags}>")
  add_link_options("$<$<LINK_LANGUAGE:CXX>:${elements_sanitize_flags}>")
endif()
