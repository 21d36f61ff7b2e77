/* Sets the binary's allocator to return freed memory to the system at once (mimalloc's
   `purge_delay` 0 instead of 10 ms), unless MIMALLOC_PURGE_DELAY is set, which then wins as
   mimalloc documents. mimalloc has no build-time switch for this option, and the Rust code
   forbids `unsafe` (an FFI call is unsafe), so the call is here, beside mimalloc's own C:
   build.rs compiles this file and links it into the binary only (the library does not choose
   an allocator). It runs before `main`, in either order with mimalloc's own start-up: the
   option is read each time a freed span is considered for purging, and `mi_option_set`
   marks it initialised, so mimalloc does not read the environment for it again. See the
   README ("allocator") for the figures. */
#include <stdlib.h>

#include <mimalloc.h>

__attribute__((constructor)) static void dfrewrite_purge_at_once(void) {
  if (getenv("MIMALLOC_PURGE_DELAY") == NULL && getenv("MIMALLOC_RESET_DELAY") == NULL) {
    mi_option_set(mi_option_purge_delay, 0);
  }
}
