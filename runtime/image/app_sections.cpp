// The AppImage type 2 sections. They are filled in by elements-pack (update
// information) and signing tools; the runtime reads them back from its file.
#include <cstddef>

#include "elements/payload.hpp"

#define ELEMENTS_SECTION(name) __attribute__((section(name), used, retain, aligned(1)))

extern "C" {
ELEMENTS_SECTION(".upd_info") const char elements_upd_info[elements::payload::upd_info_size] = {};
ELEMENTS_SECTION(".sha256_sig") const char elements_sha256_sig[elements::payload::sig_size] = {};
ELEMENTS_SECTION(".sig_key") const char elements_sig_key[elements::payload::key_size] = {};
}
