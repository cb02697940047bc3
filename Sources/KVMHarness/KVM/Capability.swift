internal import CKVM

/// A KVM capability, as `KVM_CHECK_EXTENSION` takes it (`KVM_CAP_*` in linux/kvm.h).
public struct Capability: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The `KVM_CAP_*` number.
    public var rawValue: Int32

    /// Creates a capability from its `KVM_CAP_*` number.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The C name, e.g. `KVM_CAP_SYNC_REGS`, or `KVM_CAP_<n>` for a number this library does not know.
    public var name: String { Capability.names[rawValue] ?? "KVM_CAP_\(rawValue)" }

    /// What the capability means, in a few words.
    public var meaning: String? { Capability.meanings[rawValue] }

    public var description: String { name }

    /// The capabilities a selftest author asks about, in the order `kvm-harness probe` lists them.
    public static let curated: [Capability] = [
        .irqchip, .userMemory, .setTSSAddress, .recommendedVCPUs, .memslotCount, .guestDebug, .vcpuEvents, .xsave, .xcrs, .tscControl, .maxVCPUs, .syncRegisters, .readonlyMemory, .x2apicAPI, .immediateExit, .exceptionPayload, .hypervCPUID, .userSpaceMSR, .dirtyLogRing, .exitHypercall, .binaryStatsFD, .pmuCapability, .userMemory2, .memoryAttributes, .guestMemfd, .vmTypes, .preFaultMemory,
    ]

    private static let names: [Int32: String] = [
        Int32(KVM_CAP_IRQCHIP): "KVM_CAP_IRQCHIP",
        Int32(KVM_CAP_ONE_REG): "KVM_CAP_ONE_REG",
        Int32(KVM_CAP_ARM_VM_IPA_SIZE): "KVM_CAP_ARM_VM_IPA_SIZE",
        Int32(KVM_CAP_ARM_NISV_TO_USER): "KVM_CAP_ARM_NISV_TO_USER",
        Int32(KVM_CAP_USER_MEMORY): "KVM_CAP_USER_MEMORY",
        Int32(KVM_CAP_SET_TSS_ADDR): "KVM_CAP_SET_TSS_ADDR",
        Int32(KVM_CAP_NR_VCPUS): "KVM_CAP_NR_VCPUS",
        Int32(KVM_CAP_NR_MEMSLOTS): "KVM_CAP_NR_MEMSLOTS",
        // Memory (Memory/MemoryCapabilities.swift).
        Int32(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2): "KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2",
        Int32(KVM_CAP_DIRTY_LOG_RING_ACQ_REL): "KVM_CAP_DIRTY_LOG_RING_ACQ_REL",
        Int32(KVM_CAP_COALESCED_MMIO): "KVM_CAP_COALESCED_MMIO",
        Int32(KVM_CAP_COALESCED_PIO): "KVM_CAP_COALESCED_PIO",
        Int32(KVM_CAP_SET_GUEST_DEBUG): "KVM_CAP_SET_GUEST_DEBUG",
        Int32(KVM_CAP_VCPU_EVENTS): "KVM_CAP_VCPU_EVENTS",
        Int32(KVM_CAP_XSAVE): "KVM_CAP_XSAVE",
        Int32(KVM_CAP_XCRS): "KVM_CAP_XCRS",
        Int32(KVM_CAP_TSC_CONTROL): "KVM_CAP_TSC_CONTROL",
        Int32(KVM_CAP_MAX_VCPUS): "KVM_CAP_MAX_VCPUS",
        Int32(KVM_CAP_SYNC_REGS): "KVM_CAP_SYNC_REGS",
        Int32(KVM_CAP_READONLY_MEM): "KVM_CAP_READONLY_MEM",
        Int32(KVM_CAP_X2APIC_API): "KVM_CAP_X2APIC_API",
        Int32(KVM_CAP_IMMEDIATE_EXIT): "KVM_CAP_IMMEDIATE_EXIT",
        Int32(KVM_CAP_EXCEPTION_PAYLOAD): "KVM_CAP_EXCEPTION_PAYLOAD",
        Int32(KVM_CAP_HYPERV_CPUID): "KVM_CAP_HYPERV_CPUID",
        Int32(KVM_CAP_X86_USER_SPACE_MSR): "KVM_CAP_X86_USER_SPACE_MSR",
        Int32(KVM_CAP_DIRTY_LOG_RING): "KVM_CAP_DIRTY_LOG_RING",
        Int32(KVM_CAP_EXIT_HYPERCALL): "KVM_CAP_EXIT_HYPERCALL",
        Int32(KVM_CAP_BINARY_STATS_FD): "KVM_CAP_BINARY_STATS_FD",
        Int32(KVM_CAP_PMU_CAPABILITY): "KVM_CAP_PMU_CAPABILITY",
        Int32(KVM_CAP_USER_MEMORY2): "KVM_CAP_USER_MEMORY2",
        Int32(KVM_CAP_MEMORY_ATTRIBUTES): "KVM_CAP_MEMORY_ATTRIBUTES",
        Int32(KVM_CAP_GUEST_MEMFD): "KVM_CAP_GUEST_MEMFD",
        Int32(KVM_CAP_GUEST_MEMFD_FLAGS): "KVM_CAP_GUEST_MEMFD_FLAGS",
        Int32(KVM_CAP_VM_TYPES): "KVM_CAP_VM_TYPES",
        Int32(KVM_CAP_PRE_FAULT_MEMORY): "KVM_CAP_PRE_FAULT_MEMORY",
            Int32(KVM_CAP_MAX_VCPU_ID): "KVM_CAP_MAX_VCPU_ID",
        Int32(KVM_CAP_NESTED_STATE): "KVM_CAP_NESTED_STATE",
        Int32(KVM_CAP_XSAVE2): "KVM_CAP_XSAVE2",
        Int32(KVM_CAP_MSR_PLATFORM_INFO): "KVM_CAP_MSR_PLATFORM_INFO",
        Int32(KVM_CAP_ENFORCE_PV_FEATURE_CPUID): "KVM_CAP_ENFORCE_PV_FEATURE_CPUID",
        Int32(KVM_CAP_DISABLE_QUIRKS2): "KVM_CAP_DISABLE_QUIRKS2",
        Int32(KVM_CAP_GET_MSR_FEATURES): "KVM_CAP_GET_MSR_FEATURES",
        Int32(KVM_CAP_ADJUST_CLOCK): "KVM_CAP_ADJUST_CLOCK",
        Int32(KVM_CAP_X86_DISABLE_EXITS): "KVM_CAP_X86_DISABLE_EXITS",
        Int32(KVM_CAP_EXIT_ON_EMULATION_FAILURE): "KVM_CAP_EXIT_ON_EMULATION_FAILURE",
        Int32(KVM_CAP_X86_MSR_FILTER): "KVM_CAP_X86_MSR_FILTER",
        Int32(KVM_CAP_GET_TSC_KHZ): "KVM_CAP_GET_TSC_KHZ",
        Int32(KVM_CAP_DEBUGREGS): "KVM_CAP_DEBUGREGS",
        Int32(KVM_CAP_MP_STATE): "KVM_CAP_MP_STATE",
        Int32(KVM_CAP_GUEST_DEBUG_HW_BPS): "KVM_CAP_GUEST_DEBUG_HW_BPS",
        Int32(KVM_CAP_SET_BOOT_CPU_ID): "KVM_CAP_SET_BOOT_CPU_ID",
        Int32(KVM_CAP_SPLIT_IRQCHIP): "KVM_CAP_SPLIT_IRQCHIP",
        Int32(KVM_CAP_KVMCLOCK_CTRL): "KVM_CAP_KVMCLOCK_CTRL",
        Int32(KVM_CAP_X86_APIC_BUS_CYCLES_NS): "KVM_CAP_X86_APIC_BUS_CYCLES_NS",
        Int32(KVM_CAP_SIGNAL_MSI): "KVM_CAP_SIGNAL_MSI",
        Int32(KVM_CAP_IRQ_ROUTING): "KVM_CAP_IRQ_ROUTING",
    ]

    private static let meanings: [Int32: String] = [
        Int32(KVM_CAP_IRQCHIP): "an in-kernel interrupt controller can be created",
        Int32(KVM_CAP_USER_MEMORY): "`KVM_SET_USER_MEMORY_REGION` works",
        Int32(KVM_CAP_SET_TSS_ADDR): "the VM takes a TSS address for real-mode emulation on VMX",
        Int32(KVM_CAP_NR_VCPUS): "the recommended maximum number of vCPUs",
        Int32(KVM_CAP_NR_MEMSLOTS): "the number of memslots a VM may have",
        Int32(KVM_CAP_SET_GUEST_DEBUG): "single-stepping and hardware breakpoints",
        Int32(KVM_CAP_VCPU_EVENTS): "pending exceptions and interrupts can be read (`KVM_GET_VCPU_EVENTS`)",
        Int32(KVM_CAP_XSAVE): "the XSAVE state can be read and written",
        Int32(KVM_CAP_XCRS): "the extended control registers (XCR0) can be set",
        Int32(KVM_CAP_TSC_CONTROL): "the guest TSC frequency can be set",
        Int32(KVM_CAP_MAX_VCPUS): "the hard maximum number of vCPUs",
        Int32(KVM_CAP_SYNC_REGS): "registers are copied into `kvm_run` on every exit, saving an ioctl",
        Int32(KVM_CAP_READONLY_MEM): "memslots can be read-only (guest writes exit as MMIO)",
        Int32(KVM_CAP_X2APIC_API): "32-bit x2APIC IDs",
        Int32(KVM_CAP_IMMEDIATE_EXIT): "`kvm_run.immediate_exit` makes KVM_RUN return at once",
        Int32(KVM_CAP_EXCEPTION_PAYLOAD): "exception payloads (CR2, DR6) are reported apart from the state",
        Int32(KVM_CAP_HYPERV_CPUID): "Hyper-V CPUID leaves can be queried",
        Int32(KVM_CAP_X86_USER_SPACE_MSR): "MSR accesses can exit to user space",
        Int32(KVM_CAP_DIRTY_LOG_RING): "dirty pages are reported through a ring",
        Int32(KVM_CAP_EXIT_HYPERCALL): "some hypercalls exit to user space",
        Int32(KVM_CAP_BINARY_STATS_FD): "`KVM_GET_STATS_FD` gives binary statistics for VMs and vCPUs",
        Int32(KVM_CAP_PMU_CAPABILITY): "the guest PMU can be configured",
        Int32(KVM_CAP_USER_MEMORY2): "`KVM_SET_USER_MEMORY_REGION2` works (Linux 6.8)",
        Int32(KVM_CAP_MEMORY_ATTRIBUTES): "guest memory can be marked private (Linux 6.8)",
        Int32(KVM_CAP_GUEST_MEMFD): "guest_memfd-backed memslots (Linux 6.8)",
        Int32(KVM_CAP_GUEST_MEMFD_FLAGS): "the flags a guest_memfd can be created with, e.g. mmap (Linux 6.18)",
        Int32(KVM_CAP_VM_TYPES): "VM types other than the default can be created (Linux 6.8)",
        Int32(KVM_CAP_PRE_FAULT_MEMORY): "guest memory can be faulted in ahead of time (Linux 6.10)",
        Int32(KVM_CAP_MAX_VCPU_ID): "the largest vCPU id plus one that `KVM_CREATE_VCPU` accepts",
        Int32(KVM_CAP_NESTED_STATE): "the size of the nested virtualization state (`KVM_GET_NESTED_STATE`), 0 without nesting",
        Int32(KVM_CAP_XSAVE2): "the size in bytes of the XSAVE state that `KVM_GET_XSAVE2` returns",
        Int32(KVM_CAP_MSR_PLATFORM_INFO): "MSR_PLATFORM_INFO can be made visible to the guest (enable with `KVM_ENABLE_CAP`)",
        Int32(KVM_CAP_ENFORCE_PV_FEATURE_CPUID): "paravirtual MSRs and hypercalls follow the KVM CPUID features the guest was given",
        Int32(KVM_CAP_DISABLE_QUIRKS2): "KVM quirks can be turned off one by one; the value is the set that can",
        Int32(KVM_CAP_GET_MSR_FEATURES): "feature MSRs can be read on the system file descriptor",
        Int32(KVM_CAP_ADJUST_CLOCK): "the kvmclock can be read and set (`KVM_GET_CLOCK`/`KVM_SET_CLOCK`); the value is the flags it reports",
        Int32(KVM_CAP_X86_DISABLE_EXITS): "MWAIT, HLT, PAUSE or C-state exits can be turned off",
        Int32(KVM_CAP_EXIT_ON_EMULATION_FAILURE): "an instruction KVM cannot emulate exits with the instruction bytes",
        Int32(KVM_CAP_X86_MSR_FILTER): "MSR accesses can be filtered (`KVM_X86_SET_MSR_FILTER`)",
        Int32(KVM_CAP_GET_TSC_KHZ): "the vCPU TSC frequency can be read (`KVM_GET_TSC_KHZ`)",
        Int32(KVM_CAP_DEBUGREGS): "the debug registers can be read and written (`KVM_GET_DEBUGREGS`)",
        Int32(KVM_CAP_MP_STATE): "the multiprocessing state can be read and written (`KVM_GET_MP_STATE`)",
        Int32(KVM_CAP_GUEST_DEBUG_HW_BPS): "the number of hardware breakpoints guest debug can set",
        Int32(KVM_CAP_SET_BOOT_CPU_ID): "the boot vCPU can be chosen (`KVM_SET_BOOT_CPU_ID`)",
        Int32(KVM_CAP_SPLIT_IRQCHIP): "the local APICs can be in the kernel with the IOAPIC and PIC in user space",
        Int32(KVM_CAP_KVMCLOCK_CTRL): "the guest can be told it was paused (`KVM_KVMCLOCK_CTRL`)",
        Int32(KVM_CAP_X86_APIC_BUS_CYCLES_NS): "the APIC bus cycle (the APIC timer's frequency) can be set",
        Int32(KVM_CAP_SIGNAL_MSI): "MSIs can be injected (`KVM_SIGNAL_MSI`)",
        Int32(KVM_CAP_IRQ_ROUTING): "GSI routing can be set (`KVM_SET_GSI_ROUTING`)",
    ]
}

extension Capability {
    /// `KVM_CAP_ONE_REG`: single registers can be read and written by id (`KVM_GET_ONE_REG`/`KVM_SET_ONE_REG`);
    /// how an arm64 vCPU's registers are reached.
    public static let oneRegister = Capability(rawValue: Int32(KVM_CAP_ONE_REG))
    /// `KVM_CAP_ARM_VM_IPA_SIZE` (arm64): the largest guest-physical (IPA) address size in bits a VM can be made
    /// with; 0 where only the default 40 bits exist.
    public static let armVMIPASize = Capability(rawValue: Int32(KVM_CAP_ARM_VM_IPA_SIZE))
    /// `KVM_CAP_ARM_NISV_TO_USER` (arm64): a data abort KVM cannot decode (no valid syndrome) can exit to user
    /// space as `KVM_EXIT_ARM_NISV` instead of failing `KVM_RUN`.
    public static let armNISVToUser = Capability(rawValue: Int32(KVM_CAP_ARM_NISV_TO_USER))
    /// `KVM_CAP_IRQCHIP`: an in-kernel interrupt controller can be created.
    public static let irqchip = Capability(rawValue: Int32(KVM_CAP_IRQCHIP))
    /// `KVM_CAP_USER_MEMORY`: `KVM_SET_USER_MEMORY_REGION` works.
    public static let userMemory = Capability(rawValue: Int32(KVM_CAP_USER_MEMORY))
    /// `KVM_CAP_SET_TSS_ADDR`: the VM takes a TSS address for real-mode emulation on VMX.
    public static let setTSSAddress = Capability(rawValue: Int32(KVM_CAP_SET_TSS_ADDR))
    /// `KVM_CAP_NR_VCPUS`: the recommended maximum number of vCPUs.
    public static let recommendedVCPUs = Capability(rawValue: Int32(KVM_CAP_NR_VCPUS))
    /// `KVM_CAP_NR_MEMSLOTS`: the number of memslots a VM may have.
    public static let memslotCount = Capability(rawValue: Int32(KVM_CAP_NR_MEMSLOTS))
    /// `KVM_CAP_SET_GUEST_DEBUG`: single-stepping and hardware breakpoints.
    public static let guestDebug = Capability(rawValue: Int32(KVM_CAP_SET_GUEST_DEBUG))
    /// `KVM_CAP_VCPU_EVENTS`: pending exceptions and interrupts can be read (`KVM_GET_VCPU_EVENTS`).
    public static let vcpuEvents = Capability(rawValue: Int32(KVM_CAP_VCPU_EVENTS))
    /// `KVM_CAP_XSAVE`: the XSAVE state can be read and written.
    public static let xsave = Capability(rawValue: Int32(KVM_CAP_XSAVE))
    /// `KVM_CAP_XCRS`: the extended control registers (XCR0) can be set.
    public static let xcrs = Capability(rawValue: Int32(KVM_CAP_XCRS))
    /// `KVM_CAP_TSC_CONTROL`: the guest TSC frequency can be set.
    public static let tscControl = Capability(rawValue: Int32(KVM_CAP_TSC_CONTROL))
    /// `KVM_CAP_MAX_VCPUS`: the hard maximum number of vCPUs.
    public static let maxVCPUs = Capability(rawValue: Int32(KVM_CAP_MAX_VCPUS))
    /// `KVM_CAP_SYNC_REGS`: registers are copied into `kvm_run` on every exit, saving an ioctl.
    public static let syncRegisters = Capability(rawValue: Int32(KVM_CAP_SYNC_REGS))
    /// `KVM_CAP_READONLY_MEM`: memslots can be read-only (guest writes exit as MMIO).
    public static let readonlyMemory = Capability(rawValue: Int32(KVM_CAP_READONLY_MEM))
    /// `KVM_CAP_X2APIC_API`: 32-bit x2APIC IDs.
    public static let x2apicAPI = Capability(rawValue: Int32(KVM_CAP_X2APIC_API))
    /// `KVM_CAP_IMMEDIATE_EXIT`: `kvm_run.immediate_exit` makes KVM_RUN return at once.
    public static let immediateExit = Capability(rawValue: Int32(KVM_CAP_IMMEDIATE_EXIT))
    /// `KVM_CAP_EXCEPTION_PAYLOAD`: exception payloads (CR2, DR6) are reported apart from the state.
    public static let exceptionPayload = Capability(rawValue: Int32(KVM_CAP_EXCEPTION_PAYLOAD))
    /// `KVM_CAP_HYPERV_CPUID`: Hyper-V CPUID leaves can be queried.
    public static let hypervCPUID = Capability(rawValue: Int32(KVM_CAP_HYPERV_CPUID))
    /// `KVM_CAP_X86_USER_SPACE_MSR`: MSR accesses can exit to user space.
    public static let userSpaceMSR = Capability(rawValue: Int32(KVM_CAP_X86_USER_SPACE_MSR))
    /// `KVM_CAP_DIRTY_LOG_RING`: dirty pages are reported through a ring.
    public static let dirtyLogRing = Capability(rawValue: Int32(KVM_CAP_DIRTY_LOG_RING))
    /// `KVM_CAP_EXIT_HYPERCALL`: some hypercalls exit to user space.
    public static let exitHypercall = Capability(rawValue: Int32(KVM_CAP_EXIT_HYPERCALL))
    /// `KVM_CAP_BINARY_STATS_FD`: `KVM_GET_STATS_FD` gives binary statistics for VMs and vCPUs.
    public static let binaryStatsFD = Capability(rawValue: Int32(KVM_CAP_BINARY_STATS_FD))
    /// `KVM_CAP_PMU_CAPABILITY`: the guest PMU can be configured.
    public static let pmuCapability = Capability(rawValue: Int32(KVM_CAP_PMU_CAPABILITY))
    /// `KVM_CAP_USER_MEMORY2`: `KVM_SET_USER_MEMORY_REGION2` works (Linux 6.8).
    public static let userMemory2 = Capability(rawValue: Int32(KVM_CAP_USER_MEMORY2))
    /// `KVM_CAP_MEMORY_ATTRIBUTES`: guest memory can be marked private (Linux 6.8).
    public static let memoryAttributes = Capability(rawValue: Int32(KVM_CAP_MEMORY_ATTRIBUTES))
    /// `KVM_CAP_GUEST_MEMFD`: guest_memfd-backed memslots (Linux 6.8).
    public static let guestMemfd = Capability(rawValue: Int32(KVM_CAP_GUEST_MEMFD))
    /// `KVM_CAP_VM_TYPES`: VM types other than the default can be created (Linux 6.8).
    public static let vmTypes = Capability(rawValue: Int32(KVM_CAP_VM_TYPES))
    /// `KVM_CAP_PRE_FAULT_MEMORY`: guest memory can be faulted in ahead of time (Linux 6.10).
    public static let preFaultMemory = Capability(rawValue: Int32(KVM_CAP_PRE_FAULT_MEMORY))
    /// `KVM_CAP_MAX_VCPU_ID`: the largest vCPU id plus one that `KVM_CREATE_VCPU` accepts.
    public static let maxVCPUID = Capability(rawValue: Int32(KVM_CAP_MAX_VCPU_ID))
    /// `KVM_CAP_NESTED_STATE`: the size of the nested virtualization state (`KVM_GET_NESTED_STATE`), 0 without nesting.
    public static let nestedState = Capability(rawValue: Int32(KVM_CAP_NESTED_STATE))
    /// `KVM_CAP_XSAVE2`: the size in bytes of the XSAVE state that `KVM_GET_XSAVE2` returns.
    public static let xsave2 = Capability(rawValue: Int32(KVM_CAP_XSAVE2))
    /// `KVM_CAP_MSR_PLATFORM_INFO`: MSR_PLATFORM_INFO can be made visible to the guest (enable with `KVM_ENABLE_CAP`).
    public static let msrPlatformInfo = Capability(rawValue: Int32(KVM_CAP_MSR_PLATFORM_INFO))
    /// `KVM_CAP_ENFORCE_PV_FEATURE_CPUID`: paravirtual MSRs and hypercalls follow the KVM CPUID features the guest was given.
    public static let enforcePVFeatureCPUID = Capability(rawValue: Int32(KVM_CAP_ENFORCE_PV_FEATURE_CPUID))
    /// `KVM_CAP_DISABLE_QUIRKS2`: KVM quirks can be turned off one by one; the value is the set that can.
    public static let disableQuirks2 = Capability(rawValue: Int32(KVM_CAP_DISABLE_QUIRKS2))
    /// `KVM_CAP_GET_MSR_FEATURES`: feature MSRs can be read on the system file descriptor.
    public static let getMSRFeatures = Capability(rawValue: Int32(KVM_CAP_GET_MSR_FEATURES))
    /// `KVM_CAP_ADJUST_CLOCK`: the kvmclock can be read and set (`KVM_GET_CLOCK`/`KVM_SET_CLOCK`); the value is the flags it reports.
    public static let adjustClock = Capability(rawValue: Int32(KVM_CAP_ADJUST_CLOCK))
    /// `KVM_CAP_X86_DISABLE_EXITS`: MWAIT, HLT, PAUSE or C-state exits can be turned off.
    public static let disableExits = Capability(rawValue: Int32(KVM_CAP_X86_DISABLE_EXITS))
    /// `KVM_CAP_EXIT_ON_EMULATION_FAILURE`: an instruction KVM cannot emulate exits with the instruction bytes.
    public static let exitOnEmulationFailure = Capability(rawValue: Int32(KVM_CAP_EXIT_ON_EMULATION_FAILURE))
    /// `KVM_CAP_X86_MSR_FILTER`: MSR accesses can be filtered (`KVM_X86_SET_MSR_FILTER`).
    public static let msrFilter = Capability(rawValue: Int32(KVM_CAP_X86_MSR_FILTER))
    /// `KVM_CAP_GET_TSC_KHZ`: the vCPU TSC frequency can be read (`KVM_GET_TSC_KHZ`).
    public static let getTSCkHz = Capability(rawValue: Int32(KVM_CAP_GET_TSC_KHZ))
    /// `KVM_CAP_DEBUGREGS`: the debug registers can be read and written (`KVM_GET_DEBUGREGS`).
    public static let debugRegisters = Capability(rawValue: Int32(KVM_CAP_DEBUGREGS))
    /// `KVM_CAP_MP_STATE`: the multiprocessing state can be read and written (`KVM_GET_MP_STATE`).
    public static let mpState = Capability(rawValue: Int32(KVM_CAP_MP_STATE))
    /// `KVM_CAP_GUEST_DEBUG_HW_BPS`: the number of hardware breakpoints guest debug can set.
    public static let hardwareBreakpoints = Capability(rawValue: Int32(KVM_CAP_GUEST_DEBUG_HW_BPS))
    /// `KVM_CAP_SET_BOOT_CPU_ID`: the boot vCPU can be chosen (`KVM_SET_BOOT_CPU_ID`).
    public static let setBootCPUID = Capability(rawValue: Int32(KVM_CAP_SET_BOOT_CPU_ID))
    /// `KVM_CAP_SPLIT_IRQCHIP`: the local APICs can be in the kernel with the IOAPIC and PIC in user space.
    public static let splitIRQChip = Capability(rawValue: Int32(KVM_CAP_SPLIT_IRQCHIP))
    /// `KVM_CAP_KVMCLOCK_CTRL`: the guest can be told it was paused (`KVM_KVMCLOCK_CTRL`).
    public static let kvmclockControl = Capability(rawValue: Int32(KVM_CAP_KVMCLOCK_CTRL))
    /// `KVM_CAP_X86_APIC_BUS_CYCLES_NS`: the APIC bus cycle can be set; the value is KVM's default in ns (Linux 6.11).
    public static let apicBusCyclesNS = Capability(rawValue: Int32(KVM_CAP_X86_APIC_BUS_CYCLES_NS))
    /// `KVM_CAP_SIGNAL_MSI`: MSIs can be injected (`KVM_SIGNAL_MSI`).
    public static let signalMSI = Capability(rawValue: Int32(KVM_CAP_SIGNAL_MSI))
    /// `KVM_CAP_IRQ_ROUTING`: GSI routing can be set (`KVM_SET_GSI_ROUTING`).
    public static let irqRouting = Capability(rawValue: Int32(KVM_CAP_IRQ_ROUTING))
}
