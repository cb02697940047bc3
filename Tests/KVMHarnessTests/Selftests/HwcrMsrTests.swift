import KVMHarnessTesting
import TestGuests
import Testing

/// Port of Linux 6.12 `x86_64/hwcr_msr_test.c`: which bits of AMD's hardware configuration MSR (HWCR) a host write
/// may set, and what reads back.
@Suite("selftest hwcr_msr_test", .requiresKVM)
struct HwcrMsrTests {
    /// Bits KVM accepts but drops: TLB cache disable (3), flush filter disable (6), IGNNE emulation (8).
    static let ignored: UInt64 = 1 << 3 | 1 << 6 | 1 << 8
    /// Bits KVM keeps: McStatusWrEn (18) and TscFreqSel (24).
    static let kept: UInt64 = 1 << 18 | 1 << 24

    @Test("each of the 64 bits alone: refused unless ignored or kept, and only kept bits read back")
    func everyBit() throws {
        let vm = try VirtualMachine()
        // The vCPU never runs: the test is about KVM_SET_MSRS and KVM_GET_MSRS from the host.
        let vcpu = try vm.addVCPU(entryAddress: 0)
        let hwcr = UInt32(MSR_K7_HWCR)
        for bit in 0..<64 {
            let value = UInt64(1) << UInt64(bit)
            let written = try vcpu.writeMSRs([MSREntry(index: hwcr, value: value)])
            let legal = value & ~(Self.ignored | Self.kept) == 0
            #expect(written == (legal ? 1 : 0), "KVM_SET_MSRS(HWCR = bit \(bit)) must \(legal ? "succeed" : "fail")")
            #expect(try vcpu.msr(hwcr) == value & Self.kept, "HWCR after writing bit \(bit)")
            try vcpu.setMSR(hwcr, to: 0)
        }
    }
}
