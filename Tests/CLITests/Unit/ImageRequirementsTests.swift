@testable import KVMHarness
import KVMHarnessReporting
import Testing

// Reading what an image declares it needs, and deciding whether a host has it: pure, no KVM.

@Suite("ImageRequirements: the kvm_harness_requires declaration")
struct ImageRequirementsTests {
    @Test("vcpus, capabilities by name or number, CPU features")
    func parse() throws {
        let requirements = try ImageRequirements(
            declaration: " vcpus=4\tcap=KVM_CAP_SYNC_REGS cap=x86_user_space_msr cap=0x7b\ncpu=VMX cpu=x2apic ")
        #expect(requirements.vcpus == 4)
        #expect(requirements.capabilities == [.syncRegisters, .userSpaceMSR, Capability(rawValue: 0x7b)])
        #expect(requirements.cpuFeatures.map(\.name) == ["vmx", "x2apic"])
        #expect(try ImageRequirements(declaration: "") == ImageRequirements())
    }

    @Test("each wrong word is named in a one-line error")
    func errors() {
        func message(_ declaration: String) -> String? {
            do {
                _ = try ImageRequirements(declaration: declaration)
                return nil
            } catch {
                return error.message
            }
        }
        #expect(message("vcpus") == "'vcpus' is not KEY=VALUE (vcpus=N, cap=NAME, cpu=FEATURE)")
        #expect(message("vcpus=0") == "vcpus=0 is not a number from 1 to 1024")
        #expect(message("vcpus=2 vcpus=3") == "vcpus is declared twice")
        #expect(message("memory=64") == "unknown requirement 'memory' (vcpus=N, cap=NAME, cpu=FEATURE)")
        #expect(message("cpu=warp_drive")?.hasPrefix("cpu=warp_drive is not a CPU feature this tool knows: one of sse3, ") == true)
        #expect(message("cap=KVM_CAP_TIME_TRAVEL")?.hasPrefix(
            "cap=KVM_CAP_TIME_TRAVEL is not a capability this tool knows by name: use its number from <linux/kvm.h> "
                + "(cap=N) or one of KVM_CAP_IRQCHIP, ") == true)
    }

    @Test("what a host lacks, in declaration order; nil when it has everything")
    func missing() throws {
        let requirements = try ImageRequirements(declaration: "cap=KVM_CAP_SYNC_REGS cap=KVM_CAP_XSAVE cpu=vmx cpu=lm")
        let check: (Capability) -> Int32 = { $0 == .syncRegisters ? 1 : 0 }
        #expect(
            requirements.missing(check: check, offers: { $0.name == "lm" })
                == "KVM lacks KVM_CAP_XSAVE; KVM does not offer CPU feature vmx (CPUID.(EAX=0x1,ECX=0):ECX[5])")
        #expect(requirements.missing(check: { _ in 1 }, offers: { _ in true }) == nil)
    }

    @Test("the feature table names the SDM's bits, as the library's features where it has them")
    func features() throws {
        let svm = try #require(CPUFeatureNames.feature(named: "SVM"))
        #expect(CPUFeatureNames.location(of: svm) == "CPUID.(EAX=0x80000001,ECX=0):ECX[2]")
        let avx512f = try #require(CPUFeatureNames.feature(named: "avx512f"))
        #expect(CPUFeatureNames.location(of: avx512f) == "CPUID.(EAX=0x7,ECX=0):EBX[16]")
        let xsaves = try #require(CPUFeatureNames.feature(named: "xsaves"))
        #expect(CPUFeatureNames.location(of: xsaves) == "CPUID.(EAX=0xd,ECX=1):EAX[3]")
        #expect(Set(CPUFeatureNames.names).count == CPUFeatureNames.names.count)
        let library: [(String, CPUFeature)] = [
            ("vmx", .vmx), ("svm", .svm), ("x2apic", .x2apic), ("xsave", .xsave), ("la57", .la57), ("lm", .lm),
            ("nx", .nx), ("rdtscp", .rdtscp), ("smep", .smep), ("pdcm", .pdcm), ("xsaves", .xsaves),
        ]
        for (name, feature) in library {
            let mine = try #require(CPUFeatureNames.feature(named: name))
            #expect([mine.function, mine.index] == [feature.function, feature.index], "\(name)")
            #expect([mine.register, mine.bit] == [feature.register, feature.bit], "\(name)")
        }
    }
}
