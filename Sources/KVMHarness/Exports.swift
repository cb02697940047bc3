// The kernel's KVM structs and constants are part of this library's API (`VCPU.registers()` returns a `kvm_regs`,
// `CPUIDTable.entries` are `kvm_cpuid_entry2`s), named as the kernel's documentation names them, the choice
// rust-vmm's kvm-ioctls makes too. Re-exporting the module that holds them lets a dependent name them with
// `import KVMHarness` alone; the ioctl shim (CKVM) stays internal.
@_exported public import CLinuxKVM
