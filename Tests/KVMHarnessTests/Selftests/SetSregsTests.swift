import KVMHarnessTesting
import Testing

@testable import KVMHarness

/// A port of Linux 6.12's `x86_64/set_sregs_test.c`: `KVM_SET_SREGS` takes every CR4 bit whose feature KVM supports,
/// refuses every other one (and CR0's reserved upper half, NW without CD, PG without PE) without changing anything,
/// and takes a valid APIC base but not an invalid one.
@Suite("selftest set_sregs_test", .requiresKVM)
struct SetSregsTests {
    // CR4 bits (SDM vol. 3, 2.5).
    static let vme: UInt64 = 1 << 0, pvi: UInt64 = 1 << 1, tsd: UInt64 = 1 << 2, de: UInt64 = 1 << 3
    static let pse: UInt64 = 1 << 4, pae: UInt64 = 1 << 5, mce: UInt64 = 1 << 6, pge: UInt64 = 1 << 7
    static let pce: UInt64 = 1 << 8, osfxsr: UInt64 = 1 << 9, osxmmexcpt: UInt64 = 1 << 10, umip: UInt64 = 1 << 11
    static let la57: UInt64 = 1 << 12, vmxe: UInt64 = 1 << 13, smxe: UInt64 = 1 << 14, fsgsbase: UInt64 = 1 << 16
    static let pcide: UInt64 = 1 << 17, osxsave: UInt64 = 1 << 18, smep: UInt64 = 1 << 20, smap: UInt64 = 1 << 21
    static let pke: UInt64 = 1 << 22

    /// The CR4 bits that PVM takes in KVM_SET_SREGS although the supported CPUID lacks their features, as seen on
    /// the kvm_pvm hosts this project runs on (the C test stops at the first, FSGSBASE).
    static let pvmAcceptedCR4Bits = fsgsbase | osxsave | smep | smap | pke

    /// The CR4 bits for features this KVM supports, always allowed ones first.
    static func supportedCR4(_ kvm: KVM) -> UInt64 {
        var cr4 = vme | pvi | tsd | de | pse | pae | mce | pge | pce | osfxsr | osxmmexcpt
        let optional: [(CPUFeature, UInt64)] = [
            (.umip, umip), (.la57, la57), (.vmx, vmxe), (CPUFeature(name: "SMX", function: 1, register: 2, bit: 6), smxe),
            (.fsgsbase, fsgsbase), (.pcid, pcide), (.xsave, osxsave), (.smep, smep), (.smap, smap), (.pku, pke),
        ]
        for (feature, bit) in optional where kvm.supports(feature) { cr4 |= bit }
        return cr4
    }

    /// Sets `field |= bit` on a copy of `original`, expects KVM to refuse it and to leave the registers as they were.
    private func expectRefused(
        _ vcpu: VCPU, _ original: kvm_sregs, _ name: String, _ apply: (inout kvm_sregs) -> Void,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        var changed = original
        apply(&changed)
        #expect(throws: KVMError.self, "KVM allowed invalid \(name)", sourceLocation: sourceLocation) {
            try vcpu.setSpecialRegisters(changed)
        }
        let now = try vcpu.specialRegisters()
        let unchanged = bytes(of: now) == bytes(of: original)
        let change = "CR0 \(hex(original.cr0)) -> \(hex(now.cr0)), CR4 \(hex(original.cr4)) -> \(hex(now.cr4))"
        #expect(unchanged, "KVM changed the special registers: \(change)", sourceLocation: sourceLocation)
    }

    @Test("supported CR4 bits are taken; each unsupported one, and invalid CR0 bits, are refused unchanged")
    func crBits() throws {
        let kvm = try KVM.shared()
        let vm = try VirtualMachine()
        let vcpu = try vm.addBareVCPU(id: 0)
        var sregs = try vcpu.specialRegisters()
        sregs.cr0 = 0
        sregs.cr4 |= Self.supportedCR4(kvm)
        let cr4 = sregs.cr4
        try vcpu.setSpecialRegisters(sregs)
        sregs = try vcpu.specialRegisters()
        #expect(sregs.cr4 == cr4)

        let candidates: [(String, UInt64)] = [
            ("CR4.UMIP", Self.umip), ("CR4.LA57", Self.la57), ("CR4.VMXE", Self.vmxe), ("CR4.SMXE", Self.smxe),
            ("CR4.FSGSBASE", Self.fsgsbase), ("CR4.PCIDE", Self.pcide), ("CR4.OSXSAVE", Self.osxsave),
            ("CR4.SMEP", Self.smep), ("CR4.SMAP", Self.smap), ("CR4.PKE", Self.pke),
        ]
        for (name, bit) in candidates where sregs.cr4 & bit == 0 {
            guard Self.pvmAcceptedCR4Bits & bit != 0 else {
                try expectRefused(vcpu, sregs, name) { $0.cr4 |= bit }
                continue
            }
            try withKnownIssue("PVM accepts \(name) although KVM_GET_SUPPORTED_CPUID lacks its feature") {
                try expectRefused(vcpu, sregs, name) { $0.cr4 |= bit }
            } when: {
                HostDepartures.isPVM
            }
            try vcpu.setSpecialRegisters(sregs)  // undo what the departure let through
        }
        for bit in 32..<64 {
            try expectRefused(vcpu, sregs, "CR0 bit \(bit)") { $0.cr0 |= UInt64(1) << UInt64(bit) }
        }
        try expectRefused(vcpu, sregs, "CR0.NW without CR0.CD") { $0.cr0 |= 1 << 29 }
        try expectRefused(vcpu, sregs, "CR0.PG without CR0.PE") { $0.cr0 |= 1 << 31 }
    }

    @Test("APIC base: bit 10 alone (x2APIC without the APIC enabled) refused, bit 11 taken")
    func apicBase() throws {
        let vm = try VirtualMachine(entry: GuestFunction(address: 0))
        var sregs = try vm.vcpus[0].specialRegisters()
        sregs.apic_base = 1 << 10
        #expect(throws: KVMError.self) { try vm.vcpus[0].setSpecialRegisters(sregs) }
        sregs.apic_base = 1 << 11
        try vm.vcpus[0].setSpecialRegisters(sregs)
    }
}

/// The raw bytes of a C struct, for whole-struct comparison as `memcmp` does.
func bytes<T: BitwiseCopyable>(of value: T) -> [UInt8] {
    withUnsafeBytes(of: value) { Array($0) }
}
