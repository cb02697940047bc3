/// How a vCPU's run ended.
public enum VCPUOutcome: Hashable, Sendable {
    /// The guest sent DONE.
    case done
    /// The guest failed: an ABORT or UNHANDLED ucall.
    case failed(Ucall)
    /// The vCPU stopped with an exit that is not a ucall (SHUTDOWN, HLT, FAIL_ENTRY, an unhandled I/O or MMIO, ...).
    case faulted(VcpuExit)
    /// The harness could not go on: a malformed ucall, or KVM_RUN failing.
    case error(KVMError)
    /// The deadline passed while the vCPU was still running.
    case timedOut
    /// Another vCPU failed first, and this one was stopped.
    case stopped

    /// Whether this is a failure of the guest or the harness (not DONE, not stopped because of someone else).
    public var isFailure: Bool {
        switch self {
        case .done, .stopped: return false
        default: return true
        }
    }
}

/// What one vCPU did in a run.
public struct VCPUReport: Sendable {
    /// The vCPU index.
    public var index: Int
    /// Every ucall, in order, PRINTF included (empty unless the run records ucalls).
    public var ucalls: [Ucall] = []
    /// How it ended.
    public var outcome: VCPUOutcome = .stopped
    /// The registers when it ended (from the last exit; after a timeout, read with KVM_GET_REGS).
    public var registers: kvm_regs = kvm_regs()
    /// Its exits by reason.
    public var statistics = ExitStatistics()
    /// The last ucall it made.
    public var lastUcall: Ucall?
    /// The number of ucalls it made.
    public var ucallCount = 0
    /// Whether it was halted in the kernel, waiting for an interrupt, when the deadline stopped it
    /// (`KVM_GET_MP_STATE`; with an in-kernel local APIC a HLT waits there instead of exiting).
    public var halted = false

    /// The PRINTF lines, in order.
    public var printfLines: [String] {
        ucalls.compactMap { if case .printf(let text) = $0 { return text } else { return nil } }
    }

    /// The ucalls other than PRINTF and NONE: the ones a test usually compares.
    public var checkpoints: [Ucall] {
        ucalls.filter {
            switch $0 {
            case .printf, .none: return false
            default: return true
            }
        }
    }
}

/// What a whole run did.
public struct RunReport: Sendable {
    /// One report per vCPU, in index order.
    public var vcpus: [VCPUReport]
    /// Wall time from start to the last vCPU stopping.
    public var elapsedNanoseconds: UInt64
    /// Whether the deadline passed.
    public var timedOut: Bool
    /// The deadline the run had, in nanoseconds (nil for none).
    public var deadlineNanoseconds: UInt64?

    /// True when every vCPU reached DONE.
    public var succeeded: Bool { vcpus.allSatisfy { $0.outcome == .done } }

    /// The failure that decided the run: the first vCPU to fail (by index among the failed), if any.
    public var firstFailure: VCPUReport? { vcpus.first { $0.outcome.isFailure } }

    /// A multi-line diagnosis of a run that timed out: per vCPU, RIP, the last ucall and its exits by reason.
    public var timeoutDiagnosis: String {
        var lines = ["guest still running at the deadline of \(Double(deadlineNanoseconds ?? 0) / 1e9) s:"]
        for vcpu in vcpus {
            let exits = vcpu.statistics.rows.map { "\($0.reason.name)=\($0.count)" }.joined(separator: " ")
            let state = vcpu.outcome == .timedOut ? (vcpu.halted ? "halted" : "running") : "\(vcpu.outcome)"
            let where_ = "\(kvm_regs.programCounterName) \(hex(vcpu.registers.programCounter))"
            let last = vcpu.lastUcall.map { "\($0)" } ?? "none"
            lines.append(
                "  vCPU \(vcpu.index): \(state) at \(where_), last ucall \(last), exits: \(exits.isEmpty ? "none" : exits)")
        }
        return lines.joined(separator: "\n")
    }
}

/// Options for `VirtualMachine.run`.
public struct RunOptions: Sendable {
    /// The default deadline: 30 seconds.
    public static let defaultDeadline: Duration = .seconds(30)

    /// How long the guest may run; nil for no limit. At the deadline every vCPU is kicked out of KVM_RUN.
    public var deadline: Duration?
    /// Whether to keep every ucall in the reports (tests want them; a 100,000-ucall CLI run does not).
    public var recordsUcalls: Bool
    /// Whether to time each exit (for the CLI's summary).
    public var measuresExitTimes: Bool
    /// Called on the vCPU's thread for every ucall, as it happens (PRINTF lines, CLI events).
    public var onUcall: (@Sendable (_ vcpu: Int, _ ucall: Ucall) -> Void)?
    /// Called on the vCPU's thread for every exit that is not a ucall (`--trace`), before it is acted on.
    public var onExit: (@Sendable (_ vcpu: Int, _ exit: VcpuExit) -> Void)?

    /// Options; the defaults suit tests.
    public init(
        deadline: Duration? = RunOptions.defaultDeadline, recordsUcalls: Bool = true, measuresExitTimes: Bool = false,
        onUcall: (@Sendable (Int, Ucall) -> Void)? = nil, onExit: (@Sendable (Int, VcpuExit) -> Void)? = nil
    ) {
        self.deadline = deadline
        self.recordsUcalls = recordsUcalls
        self.measuresExitTimes = measuresExitTimes
        self.onUcall = onUcall
        self.onExit = onExit
    }
}

extension VirtualMachine {
    /// Runs every vCPU, each on its own thread, until each reaches DONE, one fails, or the deadline passes.
    ///
    /// The first failure (ABORT, UNHANDLED, a non-ucall exit, a malformed ucall) kicks the other vCPUs out and
    /// ends the run. NONE and unknown ucalls are recorded and the vCPU goes on; PRINTF never stops a run. A vCPU
    /// that reaches DONE stops and waits for the others. Blocks the calling thread: from async code use
    /// `run(_:) async`.
    public func run(_ options: RunOptions = RunOptions()) -> RunReport {
        let vcpus = self.vcpus
        let started = monotonicNanoseconds()
        let deadline = options.deadline.map { started.addingReportingOverflow($0.saturatingNanoseconds) }
            .map { $0.overflow ? UInt64.max : $0.partialValue }
        let latch = CompletionLatch(count: vcpus.count)
        let reports = ReportBox(count: vcpus.count)
        var threads: [OSThread] = []
        for vcpu in vcpus {
            vcpu.clearKick()
            vcpu.measuresExitTimes = options.measuresExitTimes
            do {
                threads.append(
                    try OSThread {
                        let report = Self.drive(vcpu, options: options) { for other in vcpus where other !== vcpu { other.kick() } }
                        reports.set(vcpu.index, report)
                        latch.countDown()
                    })
            } catch {
                var report = VCPUReport(index: vcpu.index)
                report.outcome = .error(error)
                reports.set(vcpu.index, report)
                latch.countDown()
                for other in vcpus { other.kick() }
            }
        }
        let finished = latch.wait(until: deadline)
        if !finished {
            reports.markTimedOut()
            for vcpu in vcpus { vcpu.kick() }
        }
        for thread in threads { thread.join() }
        var result = reports.reports
        if !finished {
            for i in result.indices where result[i].outcome == .stopped && reports.wasRunningAtDeadline(i) {
                result[i].outcome = .timedOut
                if let regs = try? vcpus[i].registers() { result[i].registers = regs }
                #if arch(x86_64)
                result[i].halted = (try? vcpus[i].isHalted()) ?? false
                #endif
            }
        }
        return RunReport(
            vcpus: result, elapsedNanoseconds: monotonicNanoseconds() - started, timedOut: !finished,
            deadlineNanoseconds: deadline.map { $0 - started })
    }

    /// `run(_:)` for async code: the vCPUs and the waiting happen on dedicated threads, never on the cooperative pool.
    ///
    /// A coordinator thread runs `run(_:)` and hands back the report; this call joins it before returning, so no
    /// thread outlives the call. If the process cannot make the coordinator, every vCPU reports that error.
    public func run(_ options: RunOptions = RunOptions()) async -> RunReport {
        var coordinator: OSThread?
        let report = await withCheckedContinuation { (continuation: CheckedContinuation<RunReport, Never>) in
            do throws(KVMError) {
                coordinator = try OSThread { continuation.resume(returning: self.run(options)) }
            } catch {
                let reports = vcpus.map { VCPUReport(index: $0.index, outcome: .error(error)) }
                continuation.resume(
                    returning: RunReport(
                        vcpus: reports, elapsedNanoseconds: 0, timedOut: false,
                        deadlineNanoseconds: options.deadline?.saturatingNanoseconds))
            }
        }
        // The coordinator's last act was resuming us: it is returning now.
        await coordinator?.joinWithoutBlocking()
        return report
    }

    /// One vCPU's loop.
    private static func drive(_ vcpu: VCPU, options: RunOptions, stopOthers: () -> Void) -> VCPUReport {
        var report = VCPUReport(index: vcpu.index)
        func finish(_ outcome: VCPUOutcome) -> VCPUReport {
            report.outcome = outcome
            report.statistics = vcpu.statistics
            report.registers = vcpu.lastExitRegisters
            if outcome.isFailure { stopOthers() }
            return report
        }
        while true {
            let event: VcpuEvent
            do {
                event = try vcpu.step()
            } catch {
                return finish(.error(error))
            }
            switch event {
            case .ucall(let ucall):
                report.ucallCount += 1
                report.lastUcall = ucall
                if options.recordsUcalls { report.ucalls.append(ucall) }
                options.onUcall?(vcpu.index, ucall)
                switch ucall {
                case .done: return finish(.done)
                case .abort, .unhandled: return finish(.failed(ucall))
                default: continue
                }
            case .exit(let exit):
                options.onExit?(vcpu.index, exit)
                return finish(.faulted(exit))
            case .kicked:
                return finish(.stopped)
            }
        }
    }
}

/// Reports written by vCPU threads and read by the coordinator, which may read before every thread has finished
/// (at the deadline) and reads again after joining them.
private final class ReportBox: Sendable {
    private struct State {
        var reports: [VCPUReport]
        var finished: [Bool]
        var runningAtDeadline: [Bool]
    }

    private let state: Locked<State>

    init(count: Int) {
        state = Locked(
            State(
                reports: (0..<count).map { VCPUReport(index: $0) },
                finished: [Bool](repeating: false, count: count),
                runningAtDeadline: [Bool](repeating: false, count: count)))
    }

    func set(_ index: Int, _ report: VCPUReport) {
        state.withLock {
            $0.reports[index] = report
            $0.finished[index] = true
        }
    }

    func markTimedOut() { state.withLock { $0.runningAtDeadline = $0.finished.map { !$0 } } }
    func wasRunningAtDeadline(_ index: Int) -> Bool { state.withLock { $0.runningAtDeadline[index] } }
    var reports: [VCPUReport] { state.withLock { $0.reports } }
}
