import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

/// A port of Linux 6.12's `x86_64/xapic_state_test.c`: what the guest writes to the ICR, in xAPIC mode (two MMIO
/// writes) and x2APIC mode (one WRMSR, #GP for reserved bits), is what `KVM_GET_LAPIC` reads back, for every
/// vector, delivery mode and destination shorthand, to vCPUs that do not exist and with garbage; and KVM switches
/// `APIC_ID` between the xAPIC and x2APIC formats when the host writes IA32_APIC_BASE, and keeps the x2APIC ID
/// read-only. The host passes each ICR value to the guest in IRR[63:0] (KVM leaves the IRR as set).
///
/// The kernel's version allows for AMD's AVIC errata (BUSY left set, ICR2[23:0] kept); the vCPUs here never use
/// AVIC (PVM, or Intel), so it checks the architectural result only.
@Suite("selftest xapic_state_test", .requiresKVM)
struct XAPICStateTests {
    static let icrBusy: UInt64 = 0x1000
    static let x2apicReserved: UInt64 = 0xfff3_2000

    /// Puts `value` in IRR[63:0], runs the guest to its SYNC, and checks the ICR KVM holds.
    func checkICR(_ vcpu: VCPU, x2apic: Bool, _ value: UInt64) throws {
        var lapic = try vcpu.localAPIC()
        var irr = lapic.interruptRequests
        irr[0] = value
        lapic.interruptRequests = irr
        try vcpu.setLocalAPIC(lapic)
        let ucall = try vcpu.nextUcall()
        guard ucall == .sync([value]) else {
            Issue.record("ICR \(hex(value)): expected SYNC with the value, got \(ucall)")
            throw KVMError.interrupted
        }
        let icr = try vcpu.localAPIC().interruptCommand
        var expected = value
        if !x2apic {
            expected &= 0xffff_ffff | (0xff << 56)  // ICR2 keeps only the destination, bits 31:24
        } else if value & Self.x2apicReserved != 0 {
            return  // the WRMSR took #GP (asserted in the guest); the ICR kept its old value
        }
        #expect(icr == expected & ~Self.icrBusy, "ICR written \(hex(value))")
    }

    func checkICRs(_ vcpu: VCPU, x2apic: Bool) throws {
        func check(_ value: UInt64) throws {
            // BUSY is reserved; AMD wants it 0, Intel ignores it: try it set only in xAPIC mode, as the kernel does.
            if !x2apic { try checkICR(vcpu, x2apic: x2apic, value | Self.icrBusy) }
            try checkICR(vcpu, x2apic: x2apic, value & ~Self.icrBusy)
        }
        let assert: UInt64 = 0x4000, destSelf: UInt64 = 0x40000, allButSelf: UInt64 = 0xc0000
        for vector: UInt64 in 0...0xff { try check(destSelf | assert | vector) }
        for vector: UInt64 in 0...0xff { try check(assert | vector) }
        // Every delivery mode to vCPUs that do not exist, vector 0xff.
        for destination: UInt64 in 0..<0xff where destination != UInt64(vcpu.index) {
            for mode: UInt64 in 0..<8 { try check(destination << 56 | assert | 0xff | mode << 8) }
        }
        for mode: UInt64 in 0..<8 { try check(allButSelf | assert | mode << 8) }
        // Garbage, as fixed interrupts (blocked: the guest runs with interrupts off).
        for garbage: UInt64 in [0xa5a5_a5a5_a5a5_a5a5, 0x5a5a_5a5a_5a5a_5a5a, ~0] { try check(garbage & ~0x700) }
    }

    @Test("x2APIC: the ICR the guest writes with one WRMSR is what KVM_GET_LAPIC reads; reserved bits #GP")
    func x2apicICR() throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_xapic_state_x2apic))
        try checkICRs(vm.vcpus[0], x2apic: true)
    }

    @Test("xAPIC, x2APIC hidden from CPUID: the ICR and ICR2 the guest writes are what KVM_GET_LAPIC reads")
    func xapicICR() throws {
        let vm = try VirtualMachine()
        let vcpu = try vm.addVCPU(entry: GuestFunction(guest_xapic_state_xapic))
        var cpuid = vm.kvm.supportedCPUID.withAPICID(0)
        cpuid.clear(.x2apic)
        try vcpu.setCPUID(cpuid)
        try vm.mapXAPIC()
        try checkICRs(vcpu, x2apic: false)
    }

    /// Writes IA32_APIC_BASE from the host and checks `APIC_ID` in the format of the new mode.
    func checkAPICID(_ vcpu: VCPU, apicBase: UInt64) throws {
        try vcpu.setMSR(APICMode.baseMSR, to: apicBase)
        let x2apic = APICMode(apicBase: apicBase) == .x2APIC
        let expected = x2apic ? UInt32(vcpu.index) : UInt32(vcpu.index) << 24
        #expect(try vcpu.localAPIC()[.id] == expected, "APIC_ID of vCPU \(vcpu.index) in \(x2apic ? "x2APIC" : "xAPIC")")
    }

    @Test("KVM rewrites APIC_ID in the new mode's format when the host switches xAPIC, x2APIC, xAPIC")
    func apicIDFollowsMode() throws {
        let vm = try VirtualMachine()
        for _ in 0..<3 { try vm.addVCPU(entry: GuestFunction(guest_xapic_state_x2apic)) }
        try vm.enableX2APICAPI(use32BitIDs: true)
        for vcpu in vm.vcpus {
            let base = try vcpu.apicBase()
            #expect(APICMode(apicBase: base) == .xAPIC, "vCPU \(vcpu.index) at RESET: enabled, xAPIC mode")
            try checkAPICID(vcpu, apicBase: base)
            try checkAPICID(vcpu, apicBase: APICMode.x2APIC.applied(to: base))
            try checkAPICID(vcpu, apicBase: base)
        }
    }

    @Test("in x2APIC mode KVM_SET_LAPIC cannot change the APIC ID")
    func x2apicIDIsReadOnly() throws {
        let vm = try VirtualMachine()
        let vcpu = try vm.addVCPU(entry: GuestFunction(guest_xapic_state_x2apic))
        try vcpu.setMSR(APICMode.baseMSR, to: APICMode.x2APIC.applied(to: 0))
        var lapic = LocalAPICState()
        for id: UInt32 in 0...0xff {
            lapic[.id] = id << 24
            lapic[.spuriousVector] = 1 << 8
            try vcpu.setLocalAPIC(lapic)
            lapic = try vcpu.localAPIC()
            #expect(lapic[.id] == UInt32(vcpu.index) << 24, "after writing ID \(id)")
        }
    }
}
