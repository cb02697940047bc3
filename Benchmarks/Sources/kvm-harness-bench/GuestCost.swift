import BenchmarkSupport
import KVMHarness
import RawKVM

/// Guest instructions per ucall, counted by KVM's instruction emulator (`perf stat -e kvm:kvm_emulate_insn`), for
/// GUEST_SYNC on the project's guest runtime and for the hand-written loops.
///
/// Each guest runs twice in a child process, with `small` and `large` ucalls; (count(large) - count(small)) /
/// (large - small) is the cost of one ucall with everything else (VM setup, the loop's prologue, DONE) cancelled.
/// This counts what the emulator executes, which on kvm_pvm is every guest instruction at CPL0.
struct GuestCost {
    var small: UInt64
    var large: UInt64
    /// Where to run perf and keep its output.
    var directory: String

    static let section = "guest cost per ucall"
    static let event = "kvm:kvm_emulate_insn"

    /// A guest to count, in the library or in the raw baseline.
    enum Subject: String, CaseIterable {
        case guestSync = "guest-sync"
        case syncMinimum = "sync-minimum"
        case ucallLoop = "ucall-loop"
        case rawUcallLoop = "raw-ucall-loop"
    }

    func measure(log: (String) -> Void) throws -> [Row] {
        let target = Target(bound: .atMost(1.5), text: "<= 1.5x")
        let name = "instructions per GUEST_SYNC vs hand-written self-contained minimum"
        guard let perf = Subprocess.findInPath("perf") else {
            return [.notMeasured(Self.section, name, target: target, reason: "perf not found (apt-get install linux-perf)")]
        }
        var perUcall: [Subject: Double] = [:]
        var counts: [(String, JSON)] = []
        for subject in Subject.allCases {
            let first = try count(subject, ucalls: small, perf: perf)
            let second = try count(subject, ucalls: large, perf: perf)
            guard let first, let second else {
                return [
                    .notMeasured(
                        Self.section, name, target: target,
                        reason: "perf stat -e \(Self.event) counted nothing (needs root and tracefs)")
                ]
            }
            perUcall[subject] = (second - first) / Double(large - small)
            counts.append((subject.rawValue, .object([("small", .number(first)), ("large", .number(second))])))
            log("guest cost: \(subject.rawValue): \(Format.number(perUcall[subject]!)) instructions per ucall")
        }
        let data: [(String, JSON)] = [
            ("ucalls_small", .number(Double(small))), ("ucalls_large", .number(Double(large))),
            ("emulated_instructions", .object(counts)),
        ]
        let sync = perUcall[.guestSync]!
        let minimum = perUcall[.syncMinimum]!
        let loop = perUcall[.ucallLoop]!
        let raw = perUcall[.rawUcallLoop]!
        return [
            .checked(
                Self.section, name, unit: "insns", library: sync, baseline: minimum, compared: sync / minimum,
                comparedText: Format.ratio(sync / minimum), target: target,
                detail: "minimum: 8 stores + exit store + loop (bench_sync_minimum)", data: data),
            .info(
                Self.section, "instructions per GUEST_SYNC vs hand-written loop (cmd, zeros hoisted)",
                unit: "insns", library: sync, baseline: loop, ratio: sync / loop,
                detail: "bench_ucall_loop stores only args[0] per ucall"),
            .info(
                Self.section, "instructions per ucall, bench_ucall_loop: library vs raw C", unit: "insns",
                library: loop, baseline: raw, ratio: loop / raw,
                detail: "the host-overhead runs execute the same guest instructions on both sides"),
        ]
    }

    /// Emulated guest instructions of one child run, or nil if perf counted nothing.
    private func count(_ subject: Subject, ucalls: UInt64, perf: String) throws -> Double? {
        let output = directory + "/perf-\(subject.rawValue)-\(ucalls).txt"
        let result = try Subprocess.run(
            perf,
            [
                "stat", "-x", ",", "-e", Self.event, "-o", output, "--", Subprocess.currentExecutable(),
                "guest-loop", subject.rawValue, String(ucalls),
            ], directory: directory)
        guard result.status == 0 else {
            throw GuestLoops.Failure(
                "perf stat of guest-loop \(subject.rawValue) \(ucalls) exited \(result.status): "
                    + (result.standardError.split(separator: "\n").last.map(String.init) ?? ""))
        }
        for line in Subprocess.readFile(output).split(separator: "\n") where line.contains(Self.event) {
            let value = line.split(separator: ",", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            return Double(value)
        }
        return nil
    }

    /// The child mode: runs one guest with `ucalls` ucalls and exits (perf counts this process).
    static func runChild(_ subjectName: String, ucalls: UInt64) throws {
        guard let subject = Subject(rawValue: subjectName) else {
            throw GuestLoops.Failure("unknown guest \(subjectName)")
        }
        switch subject {
        case .guestSync, .syncMinimum, .ucallLoop:
            let guest: GuestLoops.Guest =
                subject == .guestSync ? .guestSync : subject == .syncMinimum ? .syncMinimum : .ucallLoop
            let vm = try GuestLoops.makeVM(guest, count: ucalls)
            try GuestLoops.driveWithNextUcall(vm.vcpus[0], count: ucalls)
        case .rawUcallLoop:
            let vm = try RawVM(count: ucalls, transport: .mmio)
            defer { vm.destroy() }
            guard raw_vm_run_ucalls(vm.pointer, ucalls + 1) == 0 else {
                throw GuestLoops.Failure("raw C: \(RawVM.lastError)")
            }
        }
    }
}
