import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

@Suite("Many vCPUs making ucalls at once, each from its own stack", .requiresKVM)
struct ManyVCPUTests {
    /// Ucalls per vCPU: 10,000 from user mode; 1,000 from kernel mode, whose guest code a software-virtualized host
    /// (PVM) runs in KVM's instruction emulator, about four times slower per ucall than CPL3 code, which runs natively
    /// (26 s against 7 s for the full count on a loaded 2-core machine: over the suite's budget). Both reach the
    /// host through the same exits and the same decoder.
    static func ucallsPerVCPU(userMode: Bool) -> UInt64 { userMode ? 10_000 : 1_000 }

    /// Runs 4 vCPUs that each make `ucallsPerVCPU` SYNCs carrying their index and a counter, at CPL3 or CPL0.
    func countedRun(pio: Bool, userMode: Bool) async throws -> RunReport {
        let entry = GuestFunction(userMode ? guest_count_ucalls_user : guest_count_ucalls)
        let count = Self.ucallsPerVCPU(userMode: userMode)
        let vm = try VirtualMachine(entry: entry, vcpus: 4) { [UInt64($0), count, pio ? 1 : 0] }
        if userMode { try vm.enableUserMode() }
        return await vm.run(RunOptions(deadline: .seconds(120)))
    }

    @Test("4 vCPUs x 10,000 ucalls (1,000 at CPL0) with index and counter: none lost or mixed, the same under MMIO and port I/O",
          arguments: [true, false])
    func fourVCPUsBothTransports(userMode: Bool) async throws {
        let mmio = try await countedRun(pio: false, userMode: userMode)
        let pio = try await countedRun(pio: true, userMode: userMode)
        for report in [mmio, pio] {
            expectGuestRun(report)
            for vcpu in report.vcpus {
                let expected = (0..<Self.ucallsPerVCPU(userMode: userMode)).map { Ucall.sync(stage: 1, UInt64(vcpu.index), $0) } + [.done]
                let observed = vcpu.checkpoints
                #expect(observed.count == expected.count, "vCPU \(vcpu.index)")
                if let first = zip(observed, expected).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                    Issue.record("vCPU \(vcpu.index): ucall #\(first) is \(observed[first]), expected \(expected[first])")
                }
            }
        }
        #expect(mmio.vcpus.map(\.checkpoints) == pio.vcpus.map(\.checkpoints))
    }

    @Test("64 vCPUs each make one SYNC with their index and all reach DONE")
    func sixtyFourVCPUs() async throws {
        let maxVCPUs = try KVM.shared().check(.maxVCPUs)
        try #require(maxVCPUs == 0 || maxVCPUs >= 64, "this host's KVM allows \(maxVCPUs) vCPUs per VM")
        let vm = try VirtualMachine(entry: GuestFunction(guest_per_vcpu), vcpus: 64) { [UInt64($0)] }
        let report = await vm.run(RunOptions(deadline: .seconds(60)))
        expectGuestRun(report)
        #expect(report.vcpus.count == 64)
        for vcpu in report.vcpus {
            #expect(vcpu.checkpoints == [.sync(stage: 1, UInt64(vcpu.index)), .done], "vCPU \(vcpu.index)")
        }
    }
}
