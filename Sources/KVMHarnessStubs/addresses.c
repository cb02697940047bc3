// Swift cannot import the stub labels (incomplete arrays) directly; these return their addresses.
#include "KVMHarnessStubs.h"

const void *kvmh_stubs_start_address(void) { return kvmh_stubs_start; }
const void *kvmh_stub_entry_returned_address(void) { return kvmh_stub_entry_returned; }
const void *kvmh_stubs_end_address(void) { return kvmh_stubs_end; }
