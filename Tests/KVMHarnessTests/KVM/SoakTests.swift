import Foundation
import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

// The long hostile runs, for scripts/soak.sh only: 1,000 create-run-destroy cycles, a flood of 10^6 ucalls, 64
// spinning vCPUs. Each prints its figures as "soak: ..." lines that the script collects. They are compiled only
// with -DKVMHARNESS_SOAK (the script's own build in .build-soak), so the ordinary test run neither runs nor skips
// them (scripts/test.sh fails on a skip).
#if KVMHARNESS_SOAK

/// One line of figures: open descriptors, threads, resident set.
private func figures(_ label: String) throws -> String {
    let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
    func field(_ name: String) -> String {
        let line = status.split(separator: "\n").first { $0.hasPrefix(name + ":") } ?? ""
        return line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.map(String.init) ?? "?"
    }
    let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
    return "soak: \(label): fds \(descriptors), threads \(field("Threads")), RSS \(field("VmRSS")) KiB"
}

@Suite("Soak (scripts/soak.sh)", .requiresKVM)
struct SoakTests {
    @Test("create-run-destroy cycles through the library")
    func cycles() async throws {
        let count = Int(ProcessInfo.processInfo.environment["KVMHARNESS_SOAK_CYCLES"] ?? "") ?? 1000
        print(try figures("library cycle 0"))
        for cycle in 1...count {
            let report = try await VirtualMachine(entry: GuestFunction(guest_sync_done), arguments: [UInt64(cycle)]).run()
            #expect(report.vcpus[0].outcome == .done && report.vcpus[0].checkpoints == [.sync([UInt64(cycle)]), .done])
            if cycle % 100 == 0 || cycle == count { print(try figures("library cycle \(cycle)")) }
        }
    }

    @Test("a flood of 10^6 ucalls loses none")
    func flood() throws {
        let count = 1_000_000
        let vm = try VirtualMachine(entry: GuestFunction(guest_ucall_flood), arguments: [UInt64(count)])
        let start = ContinuousClock.now
        var seen = 0
        while case .sync(let arguments) = try vm.vcpus[0].nextUcall() {
            if arguments[0] != UInt64(seen) { Issue.record("ucall \(seen) carried \(arguments[0])"); break }
            seen += 1
        }
        #expect(seen == count)
        print("soak: flood: \(seen) ucalls in \(ContinuousClock.now - start), then DONE")
        print(try figures("flood end"))
    }

    @Test("64 vCPUs spinning until the deadline all time out")
    func spin() async throws {
        print(try figures("spin start"))
        let start = ContinuousClock.now
        let vm = try VirtualMachine(entry: GuestFunction(guest_spin), vcpus: 64)
        let created = ContinuousClock.now
        let report = await vm.run(RunOptions(deadline: .seconds(2)))
        #expect(report.vcpus.allSatisfy { $0.outcome == .timedOut })
        print("soak: spin: 64 vCPUs created in \(created - start), run ended \(ContinuousClock.now - created) later, "
            + "\(report.vcpus.filter { $0.outcome == .timedOut }.count) timed out")
        print(try figures("spin end (VM alive)"))
    }
}
#endif
