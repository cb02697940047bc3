import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

@Suite("Many vCPUs making ucalls at once, each from its own stack", .requiresKVM)
struct ManyVCPUTests {
    static let ucallsPerVCPU: UInt64 = 10_000

    /// Runs 4 vCPUs that each make `ucallsPerVCPU` SYNCs carrying their index and a counter.
    func countedRun(pio: Bool) async throws -> RunReport {
        let vm = try VirtualMachine(entry: GuestFunction(guest_count_ucalls), vcpus: 4) {
            [UInt64($0), Self.ucallsPerVCPU, pio ? 1 : 0]
        }
        return await vm.run(RunOptions(deadline: .seconds(120)))
    }

    @Test("4 vCPUs x 10,000 ucalls with index and counter: none lost or mixed, the same under MMIO and port I/O")
    func fourVCPUsBothTransports() async throws {
        let mmio = try await countedRun(pio: false)
        let pio = try await countedRun(pio: true)
        for report in [mmio, pio] {
            expectGuestRun(report)
            for vcpu in report.vcpus {
                let expected = (0..<Self.ucallsPerVCPU).map { Ucall.sync(stage: 1, UInt64(vcpu.index), $0) } + [.done]
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
