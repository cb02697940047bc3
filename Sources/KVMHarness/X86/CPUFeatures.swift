#if arch(x86_64)
internal import CKVM
internal import KVMHarnessGuest

/// A named x86 CPU feature: a bit of a CPUID leaf. The names and positions are the guest runtime's
/// (x86_features.h), so `CPUFeature.x2apic` on the host and `X86_FEATURE_X2APIC` in guest C are the same bit.
public struct CPUFeature: Hashable, Sendable, CustomStringConvertible {
    /// The CPUID leaf (EAX input).
    public var function: UInt32
    /// The subleaf (ECX input).
    public var index: UInt32
    /// The output register: 0 EAX, 1 EBX, 2 ECX, 3 EDX.
    public var register: Int
    /// The bit in that register.
    public var bit: Int
    /// The feature's name as x86_features.h spells it.
    public var name: String

    /// A feature at a CPUID position.
    public init(name: String, function: UInt32, index: UInt32 = 0, register: Int, bit: Int) {
        self.name = name
        self.function = function
        self.index = index
        self.register = register
        self.bit = bit
    }

    init(_ name: String, _ feature: x86_cpu_feature) {
        self.init(
            name: name, function: feature.function, index: feature.index, register: Int(feature.reg),
            bit: Int(feature.bit))
    }

    public var description: String {
        let register = ["EAX", "EBX", "ECX", "EDX"][min(max(self.register, 0), 3)]
        return "\(name) (CPUID \(hex(function)).\(index) \(register)[\(bit)])"
    }

    /// `MWAIT` (MONITOR/MWAIT), CPUID 1 ECX[3].
    public static let mwait = CPUFeature("MWAIT", X86_FEATURE_MWAIT)
    /// `VMX`, CPUID 1 ECX[5].
    public static let vmx = CPUFeature("VMX", X86_FEATURE_VMX)
    /// `PDCM` (the PERF_CAPABILITIES MSR), CPUID 1 ECX[15].
    public static let pdcm = CPUFeature("PDCM", X86_FEATURE_PDCM)
    /// `PCID`, CPUID 1 ECX[17].
    public static let pcid = CPUFeature("PCID", X86_FEATURE_PCID)
    /// `X2APIC`, CPUID 1 ECX[21].
    public static let x2apic = CPUFeature("X2APIC", X86_FEATURE_X2APIC)
    /// `TSC_DEADLINE_TIMER`, CPUID 1 ECX[24].
    public static let tscDeadlineTimer = CPUFeature("TSC_DEADLINE_TIMER", X86_FEATURE_TSC_DEADLINE_TIMER)
    /// `XSAVE`, CPUID 1 ECX[26].
    public static let xsave = CPUFeature("XSAVE", X86_FEATURE_XSAVE)
    /// `OSXSAVE` (CR4.OSXSAVE as the guest set it), CPUID 1 ECX[27].
    public static let osxsave = CPUFeature("OSXSAVE", X86_FEATURE_OSXSAVE)
    /// `HYPERVISOR`, CPUID 1 ECX[31].
    public static let hypervisor = CPUFeature("HYPERVISOR", X86_FEATURE_HYPERVISOR)
    /// `TSC`, CPUID 1 EDX[4].
    public static let tsc = CPUFeature("TSC", X86_FEATURE_TSC)
    /// `MSR` (RDMSR/WRMSR), CPUID 1 EDX[5].
    public static let msr = CPUFeature("MSR", X86_FEATURE_MSR)
    /// `APIC`, CPUID 1 EDX[9].
    public static let apic = CPUFeature("APIC", X86_FEATURE_APIC)
    /// `SSE`, CPUID 1 EDX[25].
    public static let sse = CPUFeature("SSE", X86_FEATURE_SSE)
    /// `FSGSBASE`, CPUID 7.0 EBX[0].
    public static let fsgsbase = CPUFeature("FSGSBASE", X86_FEATURE_FSGSBASE)
    /// `TSC_ADJUST` (the IA32_TSC_ADJUST MSR), CPUID 7.0 EBX[1].
    public static let tscAdjust = CPUFeature("TSC_ADJUST", X86_FEATURE_TSC_ADJUST)
    /// `SMEP`, CPUID 7.0 EBX[7].
    public static let smep = CPUFeature("SMEP", X86_FEATURE_SMEP)
    /// `SMAP`, CPUID 7.0 EBX[20].
    public static let smap = CPUFeature("SMAP", X86_FEATURE_SMAP)
    /// `UMIP`, CPUID 7.0 ECX[2].
    public static let umip = CPUFeature("UMIP", X86_FEATURE_UMIP)
    /// `PKU`, CPUID 7.0 ECX[3].
    public static let pku = CPUFeature("PKU", X86_FEATURE_PKU)
    /// `LA57` (5-level paging), CPUID 7.0 ECX[16].
    public static let la57 = CPUFeature("LA57", X86_FEATURE_LA57)
    /// `SHSTK` (CET shadow stacks), CPUID 7.0 ECX[7].
    public static let shstk = CPUFeature("SHSTK", X86_FEATURE_SHSTK)
    /// `IBT` (CET indirect branch tracking), CPUID 7.0 EDX[20].
    public static let ibt = CPUFeature("IBT", X86_FEATURE_IBT)
    /// `ARCH_CAPABILITIES` (the IA32_ARCH_CAPABILITIES MSR), CPUID 7.0 EDX[29].
    public static let archCapabilities = CPUFeature("ARCH_CAPABILITIES", X86_FEATURE_ARCH_CAPABILITIES)
    /// `SVM`, CPUID 0x80000001 ECX[2].
    public static let svm = CPUFeature("SVM", X86_FEATURE_SVM)
    /// `NX`, CPUID 0x80000001 EDX[20].
    public static let nx = CPUFeature("NX", X86_FEATURE_NX)
    /// `GBPAGES` (1 GiB pages), CPUID 0x80000001 EDX[26].
    public static let gbpages = CPUFeature("GBPAGES", X86_FEATURE_GBPAGES)
    /// `RDTSCP`, CPUID 0x80000001 EDX[27].
    public static let rdtscp = CPUFeature("RDTSCP", X86_FEATURE_RDTSCP)
    /// `LM` (long mode), CPUID 0x80000001 EDX[29].
    public static let lm = CPUFeature("LM", X86_FEATURE_LM)
    /// `INVTSC` (an invariant TSC), CPUID 0x80000007 EDX[8].
    public static let invtsc = CPUFeature("INVTSC", X86_FEATURE_INVTSC)
    /// `XSAVES`, CPUID 0xD.1 EAX[3].
    public static let xsaves = CPUFeature("XSAVES", X86_FEATURE_XSAVES)
    /// KVM's `KVM_FEATURE_CLOCKSOURCE` (the old kvmclock MSRs), CPUID 0x40000001 EAX[0].
    public static let kvmClocksource = CPUFeature("KVM_CLOCKSOURCE", X86_FEATURE_KVM_CLOCKSOURCE)
    /// KVM's `KVM_FEATURE_CLOCKSOURCE2` (the new kvmclock MSRs), CPUID 0x40000001 EAX[3].
    public static let kvmClocksource2 = CPUFeature("KVM_CLOCKSOURCE2", X86_FEATURE_KVM_CLOCKSOURCE2)
    /// KVM's `KVM_FEATURE_ASYNC_PF`, CPUID 0x40000001 EAX[4].
    public static let kvmAsyncPF = CPUFeature("KVM_ASYNC_PF", X86_FEATURE_KVM_ASYNC_PF)
    /// KVM's `KVM_FEATURE_STEAL_TIME`, CPUID 0x40000001 EAX[5].
    public static let kvmStealTime = CPUFeature("KVM_STEAL_TIME", X86_FEATURE_KVM_STEAL_TIME)
    /// KVM's `KVM_FEATURE_PV_EOI`, CPUID 0x40000001 EAX[6].
    public static let kvmPVEOI = CPUFeature("KVM_PV_EOI", X86_FEATURE_KVM_PV_EOI)
    /// KVM's `KVM_FEATURE_PV_UNHALT`, CPUID 0x40000001 EAX[7].
    public static let kvmPVUnhalt = CPUFeature("KVM_PV_UNHALT", X86_FEATURE_KVM_PV_UNHALT)
    /// KVM's `KVM_FEATURE_PV_TLB_FLUSH`, CPUID 0x40000001 EAX[9].
    public static let kvmPVTLBFlush = CPUFeature("KVM_PV_TLB_FLUSH", X86_FEATURE_KVM_PV_TLB_FLUSH)
    /// KVM's `KVM_FEATURE_ASYNC_PF_VMEXIT`, CPUID 0x40000001 EAX[10].
    public static let kvmAsyncPFVMExit = CPUFeature("KVM_ASYNC_PF_VMEXIT", X86_FEATURE_KVM_ASYNC_PF_VMEXIT)
    /// KVM's `KVM_FEATURE_PV_SEND_IPI`, CPUID 0x40000001 EAX[11].
    public static let kvmPVSendIPI = CPUFeature("KVM_PV_SEND_IPI", X86_FEATURE_KVM_PV_SEND_IPI)
    /// KVM's `KVM_FEATURE_POLL_CONTROL`, CPUID 0x40000001 EAX[12].
    public static let kvmPollControl = CPUFeature("KVM_POLL_CONTROL", X86_FEATURE_KVM_POLL_CONTROL)
    /// KVM's `KVM_FEATURE_PV_SCHED_YIELD`, CPUID 0x40000001 EAX[13].
    public static let kvmPVSchedYield = CPUFeature("KVM_PV_SCHED_YIELD", X86_FEATURE_KVM_PV_SCHED_YIELD)
    /// KVM's `KVM_FEATURE_ASYNC_PF_INT`, CPUID 0x40000001 EAX[14].
    public static let kvmAsyncPFInt = CPUFeature("KVM_ASYNC_PF_INT", X86_FEATURE_KVM_ASYNC_PF_INT)
    /// KVM's `KVM_FEATURE_HC_MAP_GPA_RANGE`, CPUID 0x40000001 EAX[16].
    public static let kvmMapGPARange = CPUFeature("KVM_HC_MAP_GPA_RANGE", X86_FEATURE_KVM_HC_MAP_GPA_RANGE)
    /// KVM's `KVM_FEATURE_MIGRATION_CONTROL`, CPUID 0x40000001 EAX[17].
    public static let kvmMigrationControl = CPUFeature("KVM_MIGRATION_CONTROL", X86_FEATURE_KVM_MIGRATION_CONTROL)
}

extension CPUFeature {
    /// Whether the CPU this process runs on reports the feature: CPUID executed on the host, as the kernel
    /// selftests' `this_cpu_has` does in their host code. What KVM can give a vCPU is `KVM.supports(_:)`.
    public var isOnHostCPU: Bool {
        this_cpu_has(x86_cpu_feature(function: function, index: index, reg: UInt8(register), bit: UInt8(bit)))
    }
}

extension CPUIDTable {
    /// Whether the table reports `feature` (its leaf and subleaf are present and the bit is set).
    public func has(_ feature: CPUFeature) -> Bool {
        guard let entry = entry(function: feature.function, index: feature.index) else { return false }
        let value = [entry.eax, entry.ebx, entry.ecx, entry.edx][min(max(feature.register, 0), 3)]
        return (value >> UInt32(feature.bit)) & 1 == 1
    }

    /// Sets or clears `feature`'s bit (the leaf and subleaf must be in the table; nothing changes otherwise).
    public mutating func set(_ feature: CPUFeature, to enabled: Bool = true) {
        for i in entries.indices where entries[i].function == feature.function && entries[i].index == feature.index {
            let mask = UInt32(1) << UInt32(feature.bit)
            func apply(_ value: inout UInt32) { value = enabled ? value | mask : value & ~mask }
            switch feature.register {
            case 0: apply(&entries[i].eax)
            case 1: apply(&entries[i].ebx)
            case 2: apply(&entries[i].ecx)
            default: apply(&entries[i].edx)
            }
        }
    }

    /// Clears `feature`'s bit.
    public mutating func clear(_ feature: CPUFeature) { set(feature, to: false) }
}

extension KVM {
    /// Whether KVM can give a vCPU `feature` (it is in `KVM_GET_SUPPORTED_CPUID`; the kernel selftests'
    /// `kvm_cpu_has`).
    public func supports(_ feature: CPUFeature) -> Bool { supportedCPUID.has(feature) }
}

extension VCPU {
    /// The CPUID the vCPU has (`KVM_GET_CPUID2`): what `setCPUID` gave it, as KVM kept it.
    public func cpuid() throws(KVMError) -> CPUIDTable {
        var capacity = 64
        while true {
            var buffer = FlexibleArray<kvm_cpuid_entry2>(headerSize: MemoryLayout<kvm_cpuid2>.size, capacity: capacity)
            buffer.setHeader(UInt32(capacity), at: 0)
            do {
                _ = try buffer.withPointer { (pointer) throws(KVMError) in
                    try kvmIoctl(fd, CKVM_GET_CPUID2, pointer, "KVM_GET_CPUID2")
                }
                return CPUIDTable(entries: buffer.prefix(Int(buffer.header(at: 0, as: UInt32.self))))
            } catch .ioctlFailed(_, .argListTooLong) where capacity < 4096 {
                capacity *= 2
            }
        }
    }
}
#endif
