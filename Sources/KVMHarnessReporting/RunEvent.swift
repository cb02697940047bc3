import KVMHarness
import KVMHarnessStubs

/// One thing that happened in a reported run (`VirtualMachine.runReporting`), as `kvm-harness run` prints it.
///
/// Plain values: formatting an event (`RunEventFormatter`) needs no KVM.
package enum RunEvent: Sendable {
    /// A vCPU made a ucall (either transport).
    case ucall(vcpu: Int, Ucall)
    /// A vCPU exited for a reason that is not a ucall (which ends its run), or any exit with tracing on.
    case exit(ExitReport)
    /// The harness could not go on with a vCPU: a malformed ucall, or KVM_RUN failing.
    case error(vcpu: Int, ErrorReport)
    /// The deadline passed with the vCPU still running.
    case timeout(TimeoutReport)
    /// KVM's binary statistics for the VM or one vCPU (`--stats`).
    case statistics(StatisticsReport)
    /// The last event of a run.
    case summary(RunSummary)
}

// MARK: - Exits

/// A non-ucall exit (or, when tracing, any exit) with what the harness could find out about it.
package struct ExitReport: Sendable, Equatable {
    /// The vCPU index.
    package var vcpu: Int
    /// The exit.
    package var exit: VcpuExit
    /// The registers at the exit (with the special registers for an exit that ends the run).
    package var registers: RegisterDump
    /// The exception KVM was delivering, from `KVM_GET_VCPU_EVENTS` (read for SHUTDOWN).
    package var pendingException: PendingException?
    /// For MMIO: the memslot nearest to the address.
    package var nearestMemslot: Memslot?
    /// The CPUID vendor string of the host ("GenuineIntel", "AuthenticAMD"), for decoding FAIL_ENTRY.
    package var cpuVendor: String
    /// The ucall MMIO address of the VM, to tell a ucall exit from a stray MMIO exit.
    package var ucallAddress: UInt64
    /// True for an exit that was a ucall and is reported only because tracing is on (the run goes on).
    package var isTracedUcall: Bool
    /// Up to 15 bytes of guest code at RIP, read through the guest's page tables (empty if unreadable or not read).
    package var instructionBytes: [UInt8]

    /// An exit report with these fields.
    package init(
        vcpu: Int, exit: VcpuExit, registers: RegisterDump, pendingException: PendingException? = nil,
        nearestMemslot: Memslot? = nil, cpuVendor: String = "", ucallAddress: UInt64 = 0,
        isTracedUcall: Bool = false, instructionBytes: [UInt8] = []
    ) {
        self.vcpu = vcpu
        self.exit = exit
        self.registers = registers
        self.pendingException = pendingException
        self.nearestMemslot = nearestMemslot
        self.cpuVendor = cpuVendor
        self.ucallAddress = ucallAddress
        self.isTracedUcall = isTracedUcall
        self.instructionBytes = instructionBytes
    }

    /// One sentence on what the exit means for this guest, with the numbers decoded.
    package var explanation: String {
        if isTracedUcall {
            switch exit {
            case .mmio: return "a ucall (MMIO transport)"
            case .io: return "a ucall (port-I/O transport)"
            default: return "a ucall"
            }
        }
        switch exit {
        case .shutdown:
            return shutdownExplanation
        case .hlt:
            return "the guest executed HLT before DONE in a VM without an in-kernel interrupt controller, so "
                + "nothing could wake the vCPU and KVM handed the HLT to the host"
        case .failEntry(let reason, let cpu):
            return HardwareEntryFailure.explain(
                reason: reason, cpu: cpu, vendor: HardwareEntryFailure.vendor(fromCPUIDVendorString: cpuVendor))
        case .internalError(let suberror, let data):
            let words = data.isEmpty ? "no data" : "data [\(data.map { hex($0) }.joined(separator: ", "))]"
            var text = "\(InternalErrorSuberror.describe(suberror)) (\(words))"
            if suberror == InternalErrorSuberror.emulation.rawValue,
                let bytes = InstructionBytes.fromEmulationFailure(data)
                    ?? (instructionBytes.isEmpty ? nil : instructionBytes)
            {
                text += "; the instruction: \(hexBytes(bytes))"
                if let what = InstructionBytes.describe(bytes) { text += " (\(what))" }
                if InstructionBytes.isVectorInstruction(bytes) {
                    text += "; KVM's instruction emulator handles few SSE/AVX instructions: where KVM emulates guest "
                        + "code (MMIO accesses, or all CPL0 code under a software-virtualized KVM such as PVM), build "
                        + "the guest with -mgeneral-regs-only"
                }
            }
            return text
        case .io(let io):
            let size = "\(io.size) byte\(io.size == 1 ? "" : "s")"
            return "port \(io.isOut ? "OUT to" : "IN from") \(hex(io.port)) (\(size) x \(io.count)"
                + (io.isOut ? ", data \(hex(io.data))" : "")
                + "): there is no device model; only an IN from the ucall port \(hex(VCPU.ucallPort)) is handled"
        case .mmio(let mmio):
            var text = "MMIO \(mmio.isWrite ? "write" : "read") of \(mmio.length) bytes at \(hex(mmio.address))"
                + (mmio.isWrite ? ", data \(hex(mmio.data))" : "")
            if let slot = nearestMemslot {
                if slot.contains(mmio.address) {
                    text += ", inside memslot \(slot.slot) (\(slot.purpose)"
                        + (slot.readOnly ? ", read-only: the guest wrote read-only memory)" : ")")
                } else {
                    text += ", outside every memslot; nearest is memslot \(slot.slot) (\(slot.purpose), "
                        + "\(hex(slot.guestPhysicalAddress))-\(hex(slot.end)))"
                }
            }
            return text + ": there is no device model; only an 8-byte write to the ucall address "
                + "\(hex(ucallAddress)) is handled"
        default:
            return exit.reason.meaning
        }
    }

    private var shutdownExplanation: String {
        var text = "likely a triple fault: "
        if let exception = pendingException {
            text += "\(X86Exception.mnemonic(UInt64(exception.vector))) could not be delivered"
        } else if let raised = InstructionBytes.exceptionRaised(by: instructionBytes) {
            text += "the \(raised.instruction) at RIP raised \(raised.exception), which could not be delivered"
        } else {
            text += "an exception could not be delivered"
        }
        if let idt = registers.idt {
            if idt.limit < 15 {
                text += ": no IDT (IDTR base \(hex(idt.base)), limit \(hex(idt.limit)))"
            } else if idt.base != UInt64(KVMH_IDT_GVA) {
                text += "; the guest loaded its own IDT (base \(hex(idt.base)), limit \(hex(idt.limit))): check its "
                    + "gates, the GDT and the stack they use"
            } else {
                text += "; the harness's IDT was in place, so check RSP (\(hex(registers.value(of: "rsp") ?? 0))), "
                    + "the GDT and TSS, and the page tables mapping them"
            }
        }
        return text
    }
}

// MARK: - Errors, timeouts, statistics

/// A problem the harness detected in a vCPU's run: `kind` names it for machines, `message` for people.
package struct ErrorReport: Sendable, Equatable {
    /// "malformed_ucall", "ioctl_failed", "system_call_failed" or "harness".
    package var kind: String
    /// The one-line description.
    package var message: String
    /// Details, in order ("problem", "size", "gva", "operation", "errno", ...).
    package var details: JSONObject

    /// Describes `error`; `memoryFault` is the MEMORY_FAULT exit KVM reported along with a failing KVM_RUN, if any.
    package init(_ error: KVMError, memoryFault: VcpuExit? = nil) {
        message = error.description
        details = JSONObject()
        switch error {
        case .malformedUcall(let problem):
            kind = "malformed_ucall"
            switch problem {
            case .read(let size):
                details["problem"] = .string("read")
                details["size"] = .int(Int64(size))
            case .wrongSize(let size):
                details["problem"] = .string("wrong_size")
                details["size"] = .int(Int64(size))
            case .unmappedPointer(let gva):
                details["problem"] = .string("unmapped_pointer")
                details["gva"] = .hex(gva)
            case .pointerOutsideMemory(let gva, let gpa):
                details["problem"] = .string("pointer_outside_memory")
                details["gva"] = .hex(gva)
                details["gpa"] = .hex(gpa)
            case .runsIntoUnmappedPage(let gva, let page):
                details["problem"] = .string("runs_into_unmapped_page")
                details["gva"] = .hex(gva)
                details["unmapped_page"] = .hex(page)
            case .invalidPageTables(let address, let tableProblem):
                details["problem"] = .string("invalid_page_tables")
                details["gva"] = .hex(address)
                switch tableProblem {
                case .tableOutsideMemory(let level, let tableGPA):
                    details["table_problem"] = .string("table_outside_memory")
                    details["level"] = .int(Int64(level))
                    details["table_gpa"] = .hex(tableGPA)
                case .reservedBits(let level, let entry, let bits):
                    details["table_problem"] = .string("reserved_bits")
                    details["level"] = .int(Int64(level))
                    details["entry"] = .hex(entry)
                    details["reserved_bits"] = .hex(bits)
                }
            case .supervisorOnlyPage(let gva):
                details["problem"] = .string("supervisor_only_page")
                details["gva"] = .hex(gva)
            case .readOnlyPage(let gva):
                details["problem"] = .string("read_only_page")
                details["gva"] = .hex(gva)
            case .replyOutsideMemory(let gva, let gpa):
                details["problem"] = .string("reply_outside_memory")
                details["gva"] = .hex(gva)
                if let gpa { details["gpa"] = .hex(gpa) }
            case .hostCallBufferTooLong(let length):
                details["problem"] = .string("host_call_buffer_too_long")
                details["length"] = .unsigned(length)
            case .storeWithoutSyndrome(let iss):
                details["problem"] = .string("store_without_syndrome")
                details["iss"] = .hex(iss)
            }
        case .ioctlFailed(let operation, let errno):
            kind = "ioctl_failed"
            details["operation"] = .string(operation)
            details["errno"] = .int(Int64(errno.rawValue))
        case .systemCallFailed(let operation, let errno):
            kind = "system_call_failed"
            details["operation"] = .string(operation)
            details["errno"] = .int(Int64(errno.rawValue))
        default:
            kind = "harness"
        }
        if case .memoryFault(let flags, let gpa, let size)? = memoryFault {
            details["reason"] = .string(ExitReason.memoryFault.name)
            details["gpa"] = .hex(gpa)
            details["size"] = .unsigned(size)
            details["flags"] = .hex(flags)
            message += "; KVM reported MEMORY_FAULT at \(hex(gpa)), \(size) bytes, flags \(hex(flags))"
        }
    }
}

/// A vCPU still running when the deadline passed.
package struct TimeoutReport: Sendable, Equatable {
    /// The vCPU index.
    package var vcpu: Int
    /// RIP when it was stopped.
    package var rip: UInt64
    /// The deadline, in nanoseconds.
    package var deadlineNanoseconds: UInt64
    /// Its last ucall, if it made one.
    package var lastUcall: Ucall?
    /// Its exit counts.
    package var exits: [(reason: ExitReason, count: UInt64)]

    /// A timeout report with these fields.
    package init(
        vcpu: Int, rip: UInt64, deadlineNanoseconds: UInt64, lastUcall: Ucall?,
        exits: [(reason: ExitReason, count: UInt64)]
    ) {
        self.vcpu = vcpu
        self.rip = rip
        self.deadlineNanoseconds = deadlineNanoseconds
        self.lastUcall = lastUcall
        self.exits = exits
    }

    package static func == (lhs: TimeoutReport, rhs: TimeoutReport) -> Bool {
        lhs.vcpu == rhs.vcpu && lhs.rip == rhs.rip && lhs.deadlineNanoseconds == rhs.deadlineNanoseconds
            && lhs.lastUcall == rhs.lastUcall && lhs.exits.map(\.reason) == rhs.exits.map(\.reason)
            && lhs.exits.map(\.count) == rhs.exits.map(\.count)
    }
}

/// KVM's binary statistics for the VM or one vCPU, or why they could not be read.
package struct StatisticsReport: Sendable, Equatable {
    /// Whose statistics: the VM's (nil) or a vCPU's (its index).
    package var vcpu: Int?
    /// The statistics, in KVM's order.
    package var values: [KVMStatistic]
    /// Why they could not be read, if they could not.
    package var failure: String?

    /// A statistics report with these fields.
    package init(vcpu: Int?, values: [KVMStatistic], failure: String? = nil) {
        self.vcpu = vcpu
        self.values = values
        self.failure = failure
    }
}

// MARK: - The result

/// How a whole run ended, as the summary's `result` names it.
package enum RunResult: String, Sendable, CaseIterable {
    /// Every vCPU reached DONE.
    case done
    /// A guest assertion failed (ABORT).
    case abort
    /// The guest took an exception it did not handle (UNHANDLED).
    case unhandled
    /// A vCPU stopped with an exit that is not a ucall (SHUTDOWN, FAIL_ENTRY, INTERNAL_ERROR, stray I/O or MMIO).
    case fault
    /// The harness could not go on: a malformed ucall, or KVM_RUN failing.
    case error
    /// The deadline passed.
    case timeout
    /// A vCPU executed HLT before DONE (there is no in-kernel interrupt controller to wake it).
    case halted

    /// The process exit status for this result: 0 for done, 3 for a timeout, 1 for every guest failure.
    package var exitStatus: Int32 {
        switch self {
        case .done: return ExitStatus.success
        case .timeout: return ExitStatus.timeout
        default: return ExitStatus.guestFailure
        }
    }

    /// The result a vCPU's outcome stands for, or nil for DONE and for a vCPU stopped because another one failed.
    package init?(_ outcome: VCPUOutcome) {
        switch outcome {
        case .done, .stopped: return nil
        case .failed(.abort): self = .abort
        case .failed(.unhandled): self = .unhandled
        case .failed: self = .error
        case .faulted(.hlt): self = .halted
        case .faulted: self = .fault
        case .error: self = .error
        case .timedOut: self = .timeout
        }
    }
}

/// The process exit statuses of `kvm-harness` (see docs/guest-image-abi.md).
package enum ExitStatus {
    /// Every vCPU reached DONE.
    package static let success: Int32 = 0
    /// The guest failed: ABORT, UNHANDLED, a fault exit, HLT before DONE, a malformed ucall.
    package static let guestFailure: Int32 = 1
    /// A usage error, or an image that cannot be loaded; nothing was run.
    package static let unusable: Int32 = 2
    /// The deadline passed.
    package static let timeout: Int32 = 3
    /// This host cannot run guests (no /dev/kvm, permission denied, a KVM ioctl failing during setup).
    package static let hostUnavailable: Int32 = 4
}

/// The last event of a run.
package struct RunSummary: Sendable {
    /// How the run ended.
    package var result: RunResult
    /// The vCPU whose failure decided the result, if one did.
    package var decidingVCPU: Int?
    /// Exits of all vCPUs by reason, with their time in KVM_RUN.
    package var exits: ExitStatistics
    /// Ucalls of all vCPUs.
    package var ucalls: Int
    /// Wall time of the run.
    package var elapsedNanoseconds: UInt64
    /// The number of vCPUs.
    package var vcpuCount: Int

    /// A summary with these fields.
    package init(
        result: RunResult, decidingVCPU: Int? = nil, exits: ExitStatistics, ucalls: Int, elapsedNanoseconds: UInt64,
        vcpuCount: Int
    ) {
        self.result = result
        self.decidingVCPU = decidingVCPU
        self.exits = exits
        self.ucalls = ucalls
        self.elapsedNanoseconds = elapsedNanoseconds
        self.vcpuCount = vcpuCount
    }
}
