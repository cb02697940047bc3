import KVMHarness

/// A CPU feature an image can require, named as Linux names it in /proc/cpuinfo, with the CPUID bit that says
/// whether KVM offers it to guests (`KVM_GET_SUPPORTED_CPUID`).
///
/// A small table for the suite runner's `cpu=` requirements; the names and bits are the Intel SDM's and AMD APM's
/// CPUID tables, spelled as the kernel's `arch/x86/include/asm/cpufeatures.h` flags print.
package struct CPUFeature: Sendable, Equatable {
    /// Which CPUID output register holds the bit.
    package enum Register: String, Sendable {
        case eax, ebx, ecx, edx
    }

    /// The name, lower case ("vmx", "x2apic", "avx512f").
    package var name: String
    /// The CPUID leaf (EAX input).
    package var function: UInt32
    /// The CPUID sub-leaf (ECX input).
    package var index: UInt32
    /// The output register.
    package var register: Register
    /// The bit in that register.
    package var bit: UInt32

    /// Whether `cpuid` (KVM's supported CPUID) has the feature's bit set.
    package func isOffered(by cpuid: CPUIDTable) -> Bool {
        guard let entry = cpuid.entry(function: function, index: index) else { return false }
        let value: UInt32
        switch register {
        case .eax: value = entry.eax
        case .ebx: value = entry.ebx
        case .ecx: value = entry.ecx
        case .edx: value = entry.edx
        }
        return value & (1 << bit) != 0
    }

    /// Where the bit is, for messages: "CPUID.(EAX=0x1,ECX=0):ECX[5]".
    package var location: String {
        "CPUID.(EAX=\(hex(function)),ECX=\(index)):\(register.rawValue.uppercased())[\(bit)]"
    }

    /// The feature called `name` (case-insensitive), or nil.
    package static func named(_ name: String) -> CPUFeature? {
        let key = name.lowercased()
        return all.first { $0.name == key }
    }

    /// Every feature the table knows, by leaf.
    package static let all: [CPUFeature] =
        bits(0x1, 0, .ecx, [
            ("sse3", 0), ("pclmulqdq", 1), ("monitor", 3), ("vmx", 5), ("smx", 6), ("est", 7), ("ssse3", 9),
            ("fma", 12), ("cx16", 13), ("pdcm", 15), ("pcid", 17), ("sse4_1", 19), ("sse4_2", 20), ("x2apic", 21),
            ("movbe", 22), ("popcnt", 23), ("tsc_deadline_timer", 24), ("aes", 25), ("xsave", 26), ("avx", 28),
            ("f16c", 29), ("rdrand", 30), ("hypervisor", 31),
        ])
        + bits(0x1, 0, .edx, [
            ("fpu", 0), ("vme", 1), ("de", 2), ("pse", 3), ("tsc", 4), ("msr", 5), ("pae", 6), ("mce", 7),
            ("cx8", 8), ("apic", 9), ("sep", 11), ("mtrr", 12), ("pge", 13), ("mca", 14), ("cmov", 15), ("pat", 16),
            ("pse36", 17), ("clflush", 19), ("mmx", 23), ("fxsr", 24), ("sse", 25), ("sse2", 26), ("ht", 28),
        ])
        + bits(0x7, 0, .ebx, [
            ("fsgsbase", 0), ("tsc_adjust", 1), ("bmi1", 3), ("hle", 4), ("avx2", 5), ("smep", 7), ("bmi2", 8),
            ("erms", 9), ("invpcid", 10), ("rtm", 11), ("avx512f", 16), ("avx512dq", 17), ("rdseed", 18),
            ("adx", 19), ("smap", 20), ("clflushopt", 23), ("clwb", 24), ("avx512cd", 28), ("sha_ni", 29),
            ("avx512bw", 30), ("avx512vl", 31),
        ])
        + bits(0x7, 0, .ecx, [("umip", 2), ("pku", 3), ("waitpkg", 5), ("la57", 16), ("rdpid", 22)])
        + bits(0x7, 0, .edx, [("md_clear", 10), ("spec_ctrl", 26), ("arch_capabilities", 29)])
        + bits(0xD, 1, .eax, [("xsaveopt", 0), ("xsavec", 1), ("xgetbv1", 2), ("xsaves", 3)])
        + bits(0x8000_0001, 0, .ecx, [
            ("lahf_lm", 0), ("svm", 2), ("abm", 5), ("sse4a", 6), ("3dnowprefetch", 8), ("xop", 11), ("fma4", 16),
            ("tbm", 21), ("topoext", 22),
        ])
        + bits(0x8000_0001, 0, .edx, [("syscall", 11), ("nx", 20), ("pdpe1gb", 26), ("rdtscp", 27), ("lm", 29)])

    private static func bits(
        _ function: UInt32, _ index: UInt32, _ register: Register, _ names: [(String, UInt32)]
    ) -> [CPUFeature] {
        names.map { CPUFeature(name: $0.0, function: function, index: index, register: register, bit: $0.1) }
    }
}
