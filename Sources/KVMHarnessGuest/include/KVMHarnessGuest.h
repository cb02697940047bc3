// The KVMHarness guest runtime: everything guest C code includes.
#ifndef KVMHARNESS_GUEST_H
#define KVMHARNESS_GUEST_H

#include "ucall.h"
#include "host_call.h"
#include "user_mode.h"
#include "guest_string.h"
#include "guest_printf.h"
#include "guest_assert.h"
#include "processor.h"
#include "x86_features.h"
#include "apic.h"

#endif
