import KVMHarness

/// What a reported run (`VirtualMachine.runReporting`) reports besides ucalls and the exits that end a vCPU's run.
package struct ReportingOptions: Sendable {
    /// How long the guest may run; nil for no limit.
    package var deadline: Duration?
    /// Whether to report every exit, ucall exits included, with the registers at the exit.
    package var trace: Bool
    /// Whether to read and report KVM's binary statistics for the VM and each vCPU after the run.
    package var statistics: Bool

    /// Options; by default a 30-second deadline, no trace, no statistics.
    package init(deadline: Duration? = RunOptions.defaultDeadline, trace: Bool = false, statistics: Bool = false) {
        self.deadline = deadline
        self.trace = trace
        self.statistics = statistics
    }
}

extension VirtualMachine {
    /// Runs every vCPU as `run(_:)` does and reports what happens as `RunEvent`s, in the order it happens: each
    /// ucall as it is made, each exit that ends a vCPU's run with its registers and an explanation (every exit
    /// with `trace`), then errors, timeouts, statistics and, last, the summary.
    ///
    /// The first failure on any vCPU ends the run and decides the result; a vCPU that reaches DONE waits for the
    /// others. `emit` is called from the vCPU threads while they run (never two at once for the same vCPU), so it
    /// must be thread-safe.
    ///
    /// - Returns: the summary (also the last event emitted).
    @discardableResult
    package func runReporting(_ options: ReportingOptions, emit: @escaping @Sendable (RunEvent) -> Void) -> RunSummary {
        let vcpus = self.vcpus
        let firstFailure = FirstFailureRecorder()
        let runOptions = RunOptions(
            deadline: options.deadline, recordsUcalls: false, measuresExitTimes: true,
            onUcall: { [self] index, ucall in
                if options.trace { emit(.exit(tracedUcallExit(vcpus[index]))) }
                if ucall.isFailure { firstFailure.record(index) }
                emit(.ucall(vcpu: index, ucall))
            },
            onExit: { [self] index, exit in
                firstFailure.record(index)
                emit(.exit(finalExitReport(vcpus[index], exit)))
            })
        let report = run(runOptions)

        for vcpuReport in report.vcpus {
            switch vcpuReport.outcome {
            case .error(let error):
                let fault = memoryFault(vcpus[vcpuReport.index])
                emit(.error(vcpu: vcpuReport.index, ErrorReport(error, memoryFault: fault)))
            case .timedOut:
                emit(
                    .timeout(
                        TimeoutReport(
                            vcpu: vcpuReport.index, rip: vcpuReport.registers.rip,
                            deadlineNanoseconds: report.deadlineNanoseconds ?? 0, lastUcall: vcpuReport.lastUcall,
                            exits: vcpuReport.statistics.rows.map { ($0.reason, $0.count) })))
            default:
                break
            }
        }
        if options.statistics {
            emit(.statistics(Self.statisticsReport(vcpu: nil) { () throws(KVMError) in try binaryStatistics() }))
            for vcpu in vcpus {
                let report = Self.statisticsReport(vcpu: vcpu.index) { () throws(KVMError) in
                    try vcpu.binaryStatistics()
                }
                emit(.statistics(report))
            }
        }

        var exits = ExitStatistics()
        for vcpuReport in report.vcpus { exits.merge(vcpuReport.statistics) }
        let deciding = firstFailure.index ?? report.firstFailure?.index
        let result: RunResult
        if let deciding, let failure = RunResult(report.vcpus[deciding].outcome) {
            result = failure
        } else if report.succeeded {
            result = .done
        } else {
            result = report.timedOut ? .timeout : .error
        }
        let summary = RunSummary(
            result: result, decidingVCPU: result == .done ? nil : deciding, exits: exits,
            ucalls: report.vcpus.reduce(0) { $0 + $1.ucallCount }, elapsedNanoseconds: report.elapsedNanoseconds,
            vcpuCount: vcpus.count)
        emit(.summary(summary))
        return summary
    }

    /// The exit a ucall came in on, as `kvm_run` still holds it, for tracing. Runs on the vCPU's thread.
    private func tracedUcallExit(_ vcpu: VCPU) -> ExitReport {
        ExitReport(
            vcpu: vcpu.index, exit: vcpu.exitInKVMRun(),
            registers: RegisterDump(registers: vcpu.lastExitRegisters), ucallAddress: ucallAddress,
            isTracedUcall: true)
    }

    /// Everything the harness can find out about an exit that ends a vCPU's run. Runs on the vCPU's thread, which
    /// owns the vCPU, so the extra ioctls are safe.
    private func finalExitReport(_ vcpu: VCPU, _ exit: VcpuExit) -> ExitReport {
        let registers = (try? vcpu.registers()) ?? vcpu.lastExitRegisters
        let special = (try? vcpu.specialRegisters()) ?? vcpu.lastExitSpecialRegisters
        var pending: PendingException? = nil
        if exit == .shutdown, let events = try? vcpu.events() { pending = PendingException(events) }
        var nearest: Memslot? = nil
        if case .mmio(let access) = exit { nearest = memslots.nearest(to: access.address) }
        return ExitReport(
            vcpu: vcpu.index, exit: exit, registers: RegisterDump(registers: registers, special: special),
            pendingException: pending, nearestMemslot: nearest, cpuVendor: kvm.supportedCPUID.vendor,
            ucallAddress: ucallAddress, instructionBytes: codeBytes(at: registers.rip, cr3: special.cr3))
    }

    /// Up to 15 bytes of guest code at `rip` through the guest's page tables at `cr3`; fewer where a page is not
    /// readable, none if the first is not.
    private func codeBytes(at rip: UInt64, cr3: UInt64) -> [UInt8] {
        let memory = GuestVirtualMemory(memory: memslots, cr3: cr3, physicalAddressBits: physicalAddressBits)
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        for offset in 0..<UInt64(15) {
            guard memory.read(gva: rip &+ offset, into: &byte, count: 1) == nil else { break }
            bytes.append(byte)
        }
        return bytes
    }

    /// The MEMORY_FAULT exit KVM reports together with a failing KVM_RUN, if that is what the last run did.
    private func memoryFault(_ vcpu: VCPU) -> VcpuExit? {
        let exit = vcpu.exitInKVMRun()
        return exit.reason == .memoryFault ? exit : nil
    }

    private static func statisticsReport(vcpu: Int?, _ read: () throws(KVMError) -> [KVMStatistic])
        -> StatisticsReport
    {
        do {
            return StatisticsReport(vcpu: vcpu, values: try read())
        } catch {
            return StatisticsReport(vcpu: vcpu, values: [], failure: error.description)
        }
    }
}

/// Remembers which vCPU failed first, in time, across the vCPU threads.
private final class FirstFailureRecorder: Sendable {
    private let first = Locked<Int?>(nil)

    func record(_ index: Int) { first.withLock { if $0 == nil { $0 = index } } }

    var index: Int? { first.withLock { $0 } }
}
