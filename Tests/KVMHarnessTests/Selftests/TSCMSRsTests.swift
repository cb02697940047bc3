import KVMHarnessTesting
import TestGuests
import Testing

/// Port of Linux 6.12 `x86_64/tsc_msrs_test.c`: how guest and host writes of IA32_TSC and IA32_TSC_ADJUST move
/// each other. The guest reports both MSRs after each of its steps and the host checks them, as well as its own
/// reads between the guest's stages.
@Suite("selftest tsc_msrs_test", .requiresKVM)
struct TSCMSRsTests {
    /// IA32_TSC and IA32_TSC_ADJUST.
    static let tsc = UInt32(MSR_IA32_TSC)
    static let tscAdjust = UInt32(MSR_IA32_TSC_ADJUST)
    /// The rounding unit, 2^30 cycles.
    static let unity = UInt64(TSC_UNITY)
    /// What the host adds to the TSC, and the guest's step between its writes (tsc_msrs.c).
    static let hostAdjust = UInt64(TSC_HOST_ADJUST)
    static let step = UInt64(TSC_GUEST_STEP)

    /// `value` rounded to the nearest TSC_UNITY, as the guest's TSC_ROUND does.
    static func rounded(_ value: UInt64) -> UInt64 { (value &+ unity / 2) & ~(unity - 1) }

    /// Whether this host's vCPUs ignore KVM's TSC offset and read the host's TSC, as kvm_pvm's do: a host write of
    /// 0 to a fresh vCPU's IA32_TSC does not read back as 0. (On VMX and SVM a new vCPU's TSC starts at 0, and the
    /// write sets the offset that makes it so.)
    static let tscOffsetIgnored: Bool = {
        guard let vm = try? VirtualMachine(), let vcpu = try? vm.addVCPU(entryAddress: 0),
            (try? vcpu.setMSR(tsc, to: 0)) != nil, let value = try? vcpu.msr(tsc)
        else { return false }
        return rounded(value) != 0
    }()

    @Test("a new vCPU's TSC, then five stages of guest and host writes, both MSRs checked after each")
    func tscAndTSCAdjust() throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_tsc_msrs))
        let vcpu = vm.vcpus[0]
        func host(_ msr: UInt32) throws -> UInt64 { Self.rounded(try vcpu.msr(msr)) }
        let departure: Comment = """
            kvm_pvm: the vCPU ignores KVM's TSC offset and reads the host's TSC (a new vCPU's TSC is not 0, and a \
            write to IA32_TSC changes IA32_TSC_ADJUST but not the TSC)
            """

        try withKnownIssue(departure, isIntermittent: false) { () throws -> Void in
            // A new vCPU: both MSRs 0, from the host and from the guest.
            #expect(try host(Self.tsc) == 0)
            #expect(try host(Self.tscAdjust) == 0)
            #expect(try vcpu.nextUcall() == .sync([1, 0, 0]))

            // The guest writes the TSC, then TSC_ADJUST: each write moves both.
            var value = 1 * Self.step
            #expect(try vcpu.nextUcall() == .sync([2, value, value]))
            #expect(try host(Self.tsc) == value)
            #expect(try host(Self.tscAdjust) == value)
            value = 2 * Self.step
            #expect(try vcpu.nextUcall() == .sync([3, value, value]))
            #expect(try host(Self.tsc) == value)
            #expect(try host(Self.tscAdjust) == value)

            // The host writes the TSC: that sets the TSC offset and leaves TSC_ADJUST alone.
            try vcpu.setMSR(Self.tsc, to: Self.hostAdjust + value)
            #expect(try host(Self.tsc) == Self.hostAdjust + value)
            #expect(try host(Self.tscAdjust) == value)
            #expect(try vcpu.nextUcall() == .sync([4, Self.hostAdjust + value, value]))

            // The host writes TSC_ADJUST: that leaves the TSC alone. Then it puts the old value back.
            try vcpu.setMSR(Self.tscAdjust, to: Self.unity * 123_456)
            #expect(try host(Self.tsc) == Self.hostAdjust + value)
            #expect(try vcpu.msr(Self.tscAdjust) == Self.unity * 123_456)
            try vcpu.setMSR(Self.tscAdjust, to: value)
            #expect(try host(Self.tsc) == Self.hostAdjust + value)
            #expect(try host(Self.tscAdjust) == value)

            // The guest writes TSC_ADJUST: the host's offset stays.
            value = 3 * Self.step
            #expect(try vcpu.nextUcall() == .sync([5, Self.hostAdjust + value, value]))
            #expect(try host(Self.tsc) == Self.hostAdjust + value)
            #expect(try host(Self.tscAdjust) == value)

            // The guest writes the TSC: TSC_ADJUST now shows the host's offset.
            value = 4 * Self.step
            #expect(try vcpu.nextUcall() == .sync([6, value, value &- Self.hostAdjust]))
            #expect(try host(Self.tsc) == value)
            #expect(try host(Self.tscAdjust) == value &- Self.hostAdjust)
            #expect(try vcpu.nextUcall() == .done)
        } when: {
            Self.tscOffsetIgnored
        }
    }
}
