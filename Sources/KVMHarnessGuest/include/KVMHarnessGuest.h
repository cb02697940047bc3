// The KVMHarness guest runtime: everything guest C code includes.
//
// Every header is included on every architecture, so that the module is the same list of headers everywhere; the
// architecture-specific ones are empty elsewhere. x86-64 only: processor.h, apic.h, the functions of user_mode.h,
// the PIO transport in ucall.h and host_call.h. arm64 only: processor_aarch64.h, ucall_aarch64.h. Numbers the host
// also reads are defined everywhere: x86_features.h, aarch64_exceptions.h, user_mode.h's constants.
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
#include "aarch64_exceptions.h"
#include "processor_aarch64.h"
#include "ucall_aarch64.h"

#endif
