import KVMHarness
/// How `kvm-harness` prints what it reports.
package enum OutputFormat: String, Sendable, CaseIterable {
    /// Readable lines.
    case text
    /// One JSON object per line (JSON Lines), nothing else on stdout.
    case json
}

/// Renders run events as JSON objects or readable text. Pure: tested without KVM.
///
/// The JSON shapes are part of the CLI's contract (docs/guest-image-abi.md): every object starts with `"event"`,
/// machine words are "0x..." strings, and the summary is the last line of a run.
package enum RunEventFormatter {
    /// The event in `format`: one JSON line, or text that starts with one line (exits that end a run and the
    /// summary add indented detail lines after it).
    package static func format(_ event: RunEvent, as format: OutputFormat) -> String {
        switch format {
        case .json: return fastJSONLine(event) ?? json(event).rendered
        case .text: return text(event)
        }
    }

    /// The JSON line of the ucalls a run makes by the hundred thousand (SYNC, NONE, DONE), written directly rather
    /// than through a JSONObject: the same bytes as `json(_:).rendered`, without the intermediate arrays.
    static func fastJSONLine(_ event: RunEvent) -> String? {
        guard case .ucall(let vcpu, let ucall) = event else { return nil }
        let arguments: UcallArguments?
        switch ucall {
        case .sync(let args), .none(let args): arguments = args
        case .done: arguments = nil
        default: return nil
        }
        var line = #"{"event":"ucall","vcpu":"#
        line.reserveCapacity(192)
        line += String(vcpu)
        line += #","cmd":""#
        line += ucall.command.name
        line += "\""
        if let arguments {
            line += #","args":["#
            for index in 0..<UcallArguments.count {
                line += index == 0 ? "\"0x" : ",\"0x"
                line += String(arguments[index], radix: 16)
                line += "\""
            }
            line += "]"
        }
        line += "}"
        return line
    }

    // MARK: - JSON

    /// The event as a JSON object.
    package static func json(_ event: RunEvent) -> JSONObject {
        switch event {
        case .ucall(let vcpu, let ucall): return json(ucall: ucall, vcpu: vcpu)
        case .exit(let report): return json(exit: report)
        case .error(let vcpu, let report):
            var object: JSONObject = ["event": .string("error"), "vcpu": .int(Int64(vcpu))]
            object["kind"] = .string(report.kind)
            object["message"] = .string(report.message)
            for member in report.details.members { object[member.key] = member.value }
            return object
        case .timeout(let report):
            var object: JSONObject = ["event": .string("timeout"), "vcpu": .int(Int64(report.vcpu))]
            object["rip"] = .hex(report.rip)
            object["deadline_ms"] = .number(milliseconds(report.deadlineNanoseconds))
            object["last_ucall"] = report.lastUcall.map { .string($0.description) } ?? .null
            object["exits"] = .object(exitCounts(report.exits))
            return object
        case .statistics(let report):
            var object: JSONObject = ["event": .string("stats")]
            object["scope"] = .string(report.vcpu == nil ? "vm" : "vcpu")
            if let vcpu = report.vcpu { object["vcpu"] = .int(Int64(vcpu)) }
            if let failure = report.failure {
                object["error"] = .string(failure)
            } else {
                var values = JSONObject()
                for statistic in report.values {
                    values[statistic.name] =
                        statistic.values.count == 1
                        ? .unsigned(statistic.values[0]) : .array(statistic.values.map { .unsigned($0) })
                }
                object["values"] = .object(values)
            }
            return object
        case .summary(let summary):
            var object: JSONObject = ["event": .string("summary"), "result": .string(summary.result.rawValue)]
            object["exits"] = .object(exitCounts(summary.exits.rows.map { ($0.reason, $0.count) }))
            object["ucalls"] = .int(Int64(summary.ucalls))
            object["elapsed_ms"] = .number(milliseconds(summary.elapsedNanoseconds))
            var times = JSONObject()
            for row in summary.exits.rows {
                times[row.reason.name] = .object([
                    "total_ns": .unsigned(row.totalNanoseconds), "mean_ns": .unsigned(row.totalNanoseconds / row.count),
                ])
            }
            object["exit_times"] = .object(times)
            return object
        }
    }

    private static func json(ucall: Ucall, vcpu: Int) -> JSONObject {
        var object: JSONObject = ["event": .string("ucall"), "vcpu": .int(Int64(vcpu))]
        object["cmd"] = .string(ucall.command.name)
        switch ucall {
        case .none(let args), .sync(let args):
            object["args"] = .array(args.map { .hex($0) })
        case .printf(let message):
            object["message"] = .string(message)
        case .abort(let assertion):
            object["expression"] = assertion.expression.map { .string($0) } ?? .null
            if assertion.expression == nil { object["expression_gva"] = .hex(assertion.expressionAddress) }
            object["file"] = assertion.file.map { .string($0) } ?? .null
            if assertion.file == nil { object["file_gva"] = .hex(assertion.fileAddress) }
            object["line"] = .unsigned(assertion.line)
            object["message"] = .string(assertion.message)
        case .done:
            break
        case .unhandled(let exception):
            object["vector"] = .unsigned(exception.vector)
            object["vector_name"] = .string(exception.mnemonic)
            object["rip"] = .hex(exception.rip)
            object["error_code"] = .hex(exception.errorCode)
            if exception.vector == 14 { object["cr2"] = .hex(exception.cr2) }
        case .unknown(let command, let args):
            object["raw"] = .hex(command)
            object["args"] = .array(args.map { .hex($0) })
        case .hostCall(let command, let args):
            object["cmd"] = .string("HOST_CALL")
            object["raw"] = .unsigned(command)
            object["args"] = .array(args.map { .hex($0) })
        }
        return object
    }

    private static func json(exit report: ExitReport) -> JSONObject {
        let exit = report.exit
        var object: JSONObject = ["event": .string("exit"), "vcpu": .int(Int64(report.vcpu))]
        object["reason"] = .string(exit.reason.name)
        object["reason_code"] = .unsigned(UInt64(exit.reason.rawValue))
        switch exit {
        case .io(let io):
            object["port"] = .hex(io.port)
            object["direction"] = .string(io.isOut ? "out" : "in")
            object["size"] = .unsigned(UInt64(io.size))
            object["count"] = .unsigned(UInt64(io.count))
            if io.isOut { object["data"] = .hex(io.data) }
        case .mmio(let mmio):
            object["address"] = .hex(mmio.address)
            object["length"] = .unsigned(UInt64(mmio.length))
            object["direction"] = .string(mmio.isWrite ? "write" : "read")
            if mmio.isWrite { object["data"] = .hex(mmio.data) }
            if !report.isTracedUcall {
                object["memslot"] =
                    report.nearestMemslot.map { slot in
                        .object([
                            "slot": .unsigned(UInt64(slot.slot)), "gpa": .hex(slot.guestPhysicalAddress),
                            "size": .hex(slot.size), "purpose": .string(slot.purpose),
                            "read_only": .bool(slot.readOnly), "contains_address": .bool(slot.contains(mmio.address)),
                        ])
                    } ?? .null
            }
        case .shutdown:
            object["pending_exception"] =
                report.pendingException.map { exception in
                    .object([
                        "vector": .unsigned(UInt64(exception.vector)),
                        "vector_name": .string(X86Exception.mnemonic(UInt64(exception.vector))),
                        "error_code": exception.errorCode.map { .hex($0) } ?? .null,
                        "injected": .bool(exception.injected),
                    ])
                } ?? .null
        case .failEntry(let reason, let cpu):
            object["hardware_entry_failure_reason"] = .hex(reason)
            object["cpu"] = .unsigned(UInt64(cpu))
            object["cpu_vendor"] = .string(report.cpuVendor)
        case .internalError(let suberror, let data):
            object["suberror"] = .unsigned(UInt64(suberror))
            object["suberror_name"] = InternalErrorSuberror(rawValue: suberror).map { .string($0.name) } ?? .null
            object["data"] = .array(data.map { .hex($0) })
        case .exception(let vector, let errorCode):
            object["vector"] = .unsigned(UInt64(vector))
            object["vector_name"] = .string(X86Exception.mnemonic(UInt64(vector)))
            object["error_code"] = .hex(errorCode)
        case .debug(let exception, let pc, _, _):
            object["exception"] = .unsigned(UInt64(exception))
            object["pc"] = .hex(pc)
        case .hypercall(let number, let arguments):
            object["nr"] = .unsigned(number)
            object["args"] = .array(arguments.map { .hex($0) })
        case .systemEvent(let type, let data):
            object["type"] = .unsigned(UInt64(type))
            object["data"] = .array(data.map { .hex($0) })
        case .readMSR(let index, _):
            object["msr"] = .hex(index)
        case .writeMSR(let index, let value, _):
            object["msr"] = .hex(index)
            object["value"] = .hex(value)
        case .memoryFault(let flags, let gpa, let size):
            object["gpa"] = .hex(gpa)
            object["size"] = .unsigned(size)
            object["flags"] = .hex(flags)
        case .hlt, .interrupted, .other:
            break
        }
        object["explanation"] = .string(report.explanation)
        if !report.instructionBytes.isEmpty {
            object["instruction_bytes"] = .string(hexBytes(report.instructionBytes))
        }
        var regs = JSONObject()
        for register in report.registers.general { regs[register.name] = .hex(register.value) }
        object["regs"] = .object(regs)
        if !report.registers.control.isEmpty { object["sregs"] = .object(specialRegisters(report.registers)) }
        return object
    }

    private static func specialRegisters(_ dump: RegisterDump) -> JSONObject {
        var sregs = JSONObject()
        for register in dump.control { sregs[register.name] = .hex(register.value) }
        for segment in dump.segments {
            sregs[segment.name] = .object([
                "selector": .hex(segment.selector), "base": .hex(segment.base), "limit": .hex(segment.limit),
                "type": .unsigned(UInt64(segment.type)), "dpl": .unsigned(UInt64(segment.dpl)),
                "present": .bool(segment.present), "l": .bool(segment.long), "db": .bool(segment.defaultSize32),
                "s": .bool(segment.codeOrData), "g": .bool(segment.granularity), "unusable": .bool(segment.unusable),
            ])
        }
        for (name, table) in [("gdt", dump.gdt), ("idt", dump.idt)] {
            if let table { sregs[name] = .object(["base": .hex(table.base), "limit": .hex(table.limit)]) }
        }
        return sregs
    }

    private static func exitCounts(_ rows: [(reason: ExitReason, count: UInt64)]) -> JSONObject {
        var counts = JSONObject()
        for row in rows { counts[row.reason.name] = .unsigned(row.count) }
        return counts
    }

    /// Nanoseconds as milliseconds with three decimals, a JSON number token: 1234567 -> "1.234".
    static func milliseconds(_ nanoseconds: UInt64) -> String {
        let micros = nanoseconds / 1000
        let fraction = String(micros % 1000)
        return "\(micros / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    // MARK: - Text

    /// The event as readable text.
    package static func text(_ event: RunEvent) -> String {
        switch event {
        case .ucall(let vcpu, let ucall):
            return "vCPU \(vcpu): \(ucall)"
        case .exit(let report):
            let head = "vCPU \(report.vcpu): exit \(report.exit.reason.name) (\(report.exit.reason.rawValue)) at RIP "
                + "\(hex(report.registers.rip)): \(report.explanation)"
            var lines = [head]
            if !report.instructionBytes.isEmpty {
                lines.append("  bytes at RIP: \(hexBytes(report.instructionBytes))")
            }
            if !report.registers.control.isEmpty { lines += registerLines(report.registers) }
            return lines.joined(separator: "\n")
        case .error(let vcpu, let report):
            return "vCPU \(vcpu): error (\(report.kind)): \(report.message)"
        case .timeout(let report):
            let exits = report.exits.map { "\($0.reason.name)=\($0.count)" }.joined(separator: " ")
            return "vCPU \(report.vcpu): timeout: still running at RIP \(hex(report.rip)) after "
                + "\(duration(report.deadlineNanoseconds)); last ucall \(report.lastUcall.map { "\($0)" } ?? "none"), "
                + "exits: \(exits.isEmpty ? "none" : exits)"
        case .statistics(let report):
            let owner = report.vcpu.map { "vCPU \($0)" } ?? "the VM"
            if let failure = report.failure { return "KVM statistics of \(owner): unavailable: \(failure)" }
            var lines = ["KVM statistics of \(owner) (KVM_GET_STATS_FD):"]
            for statistic in report.values {
                let values = statistic.values.map(String.init)
                let value = values.count == 1 ? values[0] : "[" + values.joined(separator: ", ") + "]"
                lines.append("  \(statistic.name) = \(value)")
            }
            return lines.joined(separator: "\n")
        case .summary(let summary):
            return summaryText(summary)
        }
    }

    private static func registerLines(_ dump: RegisterDump) -> [String] {
        var lines: [String] = []
        let general = dump.general.map { "\($0.name)=\(hex($0.value))" }
        for start in stride(from: 0, to: general.count, by: 6) {
            lines.append("  " + general[start..<min(start + 6, general.count)].joined(separator: " "))
        }
        lines.append("  " + dump.control.map { "\($0.name)=\(hex($0.value))" }.joined(separator: " "))
        for segment in dump.segments {
            var flags: [String] = []
            if segment.present { flags.append("present") }
            if segment.long { flags.append("long") }
            if segment.defaultSize32 { flags.append("db") }
            if segment.granularity { flags.append("g") }
            if segment.unusable { flags.append("unusable") }
            lines.append(
                "  \(segment.name): selector=\(hex(segment.selector)) base=\(hex(segment.base)) "
                    + "limit=\(hex(segment.limit)) type=\(hex(segment.type)) dpl=\(segment.dpl)"
                    + (flags.isEmpty ? "" : " " + flags.joined(separator: " ")))
        }
        let tables = [("gdt", dump.gdt), ("idt", dump.idt)].compactMap { name, table in
            table.map { "\(name): base=\(hex($0.base)) limit=\(hex($0.limit))" }
        }
        if !tables.isEmpty { lines.append("  " + tables.joined(separator: "  ")) }
        return lines
    }

    private static func summaryText(_ summary: RunSummary) -> String {
        let meaning: String
        switch summary.result {
        case .done: meaning = summary.vcpuCount == 1 ? "the vCPU reached DONE" : "every vCPU reached DONE"
        case .abort: meaning = "a guest assertion failed"
        case .unhandled: meaning = "the guest took an exception it did not handle"
        case .fault: meaning = "a vCPU stopped with an exit that is not a ucall"
        case .error: meaning = "the harness could not go on"
        case .timeout: meaning = "the guest was still running at the deadline"
        case .halted: meaning = "a vCPU executed HLT before DONE"
        }
        let who = summary.decidingVCPU.map { ", on vCPU \($0)" } ?? ""
        var lines = [
            "result: \(summary.result.rawValue) (\(meaning)\(who)): \(counted(summary.ucalls, "ucall")), "
                + "\(counted(Int(summary.exits.total), "exit")) in \(duration(summary.elapsedNanoseconds))"
        ]
        let rows = summary.exits.rows
        if !rows.isEmpty {
            let width = max(11, rows.map(\.reason.name.count).max() ?? 0)
            lines.append("  " + "exit reason".padded(to: width) + "      count    total time     mean time")
            for row in rows {
                lines.append(
                    "  " + row.reason.name.padded(to: width) + String(row.count).padded(to: 11, leading: true)
                        + duration(row.totalNanoseconds).padded(to: 14, leading: true)
                        + duration(row.totalNanoseconds / row.count).padded(to: 14, leading: true))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// A duration for people: "850 ns", "12.3 µs", "4.567 ms", "1.250 s".
    static func duration(_ nanoseconds: UInt64) -> String {
        func decimal(_ value: UInt64, unit: UInt64, digits: Int) -> String {
            var scale: UInt64 = 1
            for _ in 0..<digits { scale *= 10 }
            let scaled = (value * scale + unit / 2) / unit  // rounded
            let fraction = String(scaled % scale)
            return "\(scaled / scale)." + String(repeating: "0", count: digits - fraction.count) + fraction
        }
        switch nanoseconds {
        case ..<1000: return "\(nanoseconds) ns"
        case ..<1_000_000: return decimal(nanoseconds, unit: 1000, digits: 1) + " µs"
        case ..<1_000_000_000: return decimal(nanoseconds, unit: 1_000_000, digits: 3) + " ms"
        default: return decimal(nanoseconds, unit: 1_000_000_000, digits: 3) + " s"
        }
    }

    /// "1 ucall", "3 ucalls".
    private static func counted(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }
}
