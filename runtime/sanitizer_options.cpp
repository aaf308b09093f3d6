// The runtime's sanitizer options in a build with ELEMENTS_SANITIZE
// (cmake/sanitizers.cmake); nothing in any other build.
#if defined(__SANITIZE_ADDRESS__)
#define ELEMENTS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ELEMENTS_ASAN 1
#endif
#endif

#ifdef ELEMENTS_ASAN
// LeakSanitizer stops the process with ptrace at exit, which fails once the
// runtime is in its user namespace ("LeakSanitizer has encountered a fatal
// error", exit status 1). Leaks are looked for in elements-pack, the unit
// tests and the fuzz targets, which run the same code outside namespaces.
extern "C" const char* __asan_default_options() {
  return "detect_leaks=0";
}
#endif
