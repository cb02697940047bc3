import KVMHarness

/// The CPU features an image can require by name (`cpu=vmx`), named as Linux names them in /proc/cpuinfo, as the
/// library's `CPUFeature` values whose bit says whether KVM offers the feature to guests
/// (`KVM_GET_SUPPORTED_CPUID`).
///
/// The names and bits are the Intel SDM's and AMD APM's CPUID tables, spelled as the kernel's
/// `arch/x86/include/asm/cpufeatures.h` flags print; the table is wider than the library's named features, since
/// an image may need any of them.
package enum CPUFeatureNames {
    /// Which CPUID output register holds a bit, as `CPUFeature.register` numbers them.
    private enum Register: Int {
        case eax = 0, ebx, ecx, edx
    }

    /// The feature called `name` (case-insensitive), or nil.
    package static func feature(named name: String) -> CPUFeature? {
        let key = name.lowercased()
        return all.first { $0.name == key }
    }

    /// Every name the table knows, in table order.
    package static var names: [String] { all.map(\.name) }

    /// Where a feature's bit is, for messages: "CPUID.(EAX=0x1,ECX=0):ECX[5]".
    package static func location(of feature: CPUFeature) -> String {
        let register = ["EAX", "EBX", "ECX", "EDX"][min(max(feature.register, 0), 3)]
        return "CPUID.(EAX=\(hex(feature.function)),ECX=\(feature.index)):\(register)[\(feature.bit)]"
    }

    /// Every feature the table knows, by leaf.
    private static let all: [CPUFeature] =
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
        _ function: UInt32, _ index: UInt32, _ register: Register, _ names: [(String, Int)]
    ) -> [CPUFeature] {
        names.map {
            CPUFeature(name: $0.0, function: function, index: index, register: register.rawValue, bit: $0.1)
        }
    }
}
