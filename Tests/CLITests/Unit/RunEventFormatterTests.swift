@testable import KVMHarnessReporting
import Testing

@testable import KVMHarness

// The JSON and text renderings of run events, on hand-built events: no KVM involved.

private func json(_ event: RunEvent) -> String { RunEventFormatter.format(event, as: .json) }
private func text(_ event: RunEvent) -> String { RunEventFormatter.format(event, as: .text) }

private let registers = RegisterDump(general: [NamedValue("rip", 0x40_1000), NamedValue("rsp", 0x7000)])

@Suite("RunEventFormatter: the CLI's event shapes")
struct RunEventFormatterTests {
    @Test("SYNC and NONE carry all seven arguments as hex strings")
    func sync() {
        #expect(
            json(.ucall(vcpu: 0, .sync(stage: 1, 0x10)))
                == #"{"event":"ucall","vcpu":0,"cmd":"SYNC","args":["0x1","0x10","0x0","0x0","0x0","0x0","0x0"]}"#)
        #expect(
            json(.ucall(vcpu: 3, .none([0xffff_ffff_ffff_ffff])))
                == #"{"event":"ucall","vcpu":3,"cmd":"NONE","args":["0xffffffffffffffff","0x0","0x0","0x0","0x0","0x0","0x0"]}"#)
        #expect(text(.ucall(vcpu: 0, .sync(stage: 1, 0x10))) == "vCPU 0: SYNC [0x1, 0x10]")
    }

    @Test("PRINTF and DONE")
    func printfAndDone() {
        #expect(
            json(.ucall(vcpu: 1, .printf("tab\there \"quoted\" \\ line\nnext")))
                == #"{"event":"ucall","vcpu":1,"cmd":"PRINTF","message":"tab\there \"quoted\" \\ line\nnext"}"#)
        #expect(json(.ucall(vcpu: 0, .done)) == #"{"event":"ucall","vcpu":0,"cmd":"DONE"}"#)
        #expect(text(.ucall(vcpu: 0, .printf("a\nb"))) == #"vCPU 0: PRINTF "a\nb""#)
    }

    @Test("ABORT: expression, file, line, message")
    func abort() {
        let assertion = GuestAssertion(
            expression: "x == y", expressionAddress: 0x40_2000, file: "guest.c", fileAddress: 0x40_2010, line: 31,
            message: "expected x == y: left = 0x1 (1), right = 0x2 (2)")
        #expect(
            json(.ucall(vcpu: 0, .abort(assertion)))
                == #"{"event":"ucall","vcpu":0,"cmd":"ABORT","expression":"x == y","file":"guest.c","line":31,"#
                + #""message":"expected x == y: left = 0x1 (1), right = 0x2 (2)"}"#)
        #expect(
            text(.ucall(vcpu: 0, .abort(assertion)))
                == "vCPU 0: ABORT guest.c:31: x == y: expected x == y: left = 0x1 (1), right = 0x2 (2)")
    }

    @Test("ABORT with unreadable strings: null fields and the addresses that could not be read")
    func abortUnreadable() {
        let assertion = GuestAssertion(
            expression: nil, expressionAddress: 0xdead_0000, file: nil, fileAddress: 0xbeef_0000, line: 7, message: "")
        #expect(
            json(.ucall(vcpu: 0, .abort(assertion)))
                == #"{"event":"ucall","vcpu":0,"cmd":"ABORT","expression":null,"expression_gva":"0xdead0000","#
                + #""file":null,"file_gva":"0xbeef0000","line":7,"message":""}"#)
    }

    @Test("UNHANDLED: vector, name, RIP, error code, and CR2 for #PF only")
    func unhandled() {
        #expect(
            json(.ucall(vcpu: 0, .unhandled(GuestException(vector: 6, rip: 0x40_0010))))
                == ##"{"event":"ucall","vcpu":0,"cmd":"UNHANDLED","vector":6,"vector_name":"#UD","rip":"0x400010","error_code":"0x0"}"##)
        #expect(
            json(.ucall(vcpu: 0, .unhandled(GuestException(vector: 14, rip: 0x40_0020, errorCode: 2, cr2: 0x1000))))
                == ##"{"event":"ucall","vcpu":0,"cmd":"UNHANDLED","vector":14,"vector_name":"#PF","rip":"0x400020","error_code":"0x2","cr2":"0x1000"}"##)
    }

    @Test("an unknown command keeps its raw number and arguments")
    func unknown() {
        #expect(
            json(.ucall(vcpu: 0, .unknown(command: 99, arguments: [1, 2])))
                == #"{"event":"ucall","vcpu":0,"cmd":"UNKNOWN","raw":"0x63","args":["0x1","0x2","0x0","0x0","0x0","0x0","0x0"]}"#)
        #expect(text(.ucall(vcpu: 0, .unknown(command: 99, arguments: [1, 2]))) == "vCPU 0: UNKNOWN(99) [0x1, 0x2]")
        // 2^64-1 is a machine word like any other: a hex string, as the schema says, not a number past 2^53.
        #expect(
            json(.ucall(vcpu: 0, .unknown(command: .max, arguments: [])))
                == #"{"event":"ucall","vcpu":0,"cmd":"UNKNOWN","raw":"0xffffffffffffffff","args":["0x0","0x0","0x0","0x0","0x0","0x0","0x0"]}"#)
    }

    @Test("an IO exit names port, direction, size, count and data")
    func ioExit() {
        let exit = VcpuExit.io(IOAccess(port: 0x3f8, isOut: true, size: 1, count: 1, data: 0x4b))
        let event = RunEvent.exit(ExitReport(vcpu: 0, exit: exit, registers: registers))
        #expect(
            json(event)
                == #"{"event":"exit","vcpu":0,"reason":"IO","reason_code":2,"port":"0x3f8","direction":"out","size":1,"#
                + #""count":1,"data":"0x4b","explanation":"port OUT to 0x3f8 (1 byte x 1, data 0x4b): there is no "#
                + #"device model; only an IN from the ucall port 0x1000 is handled","regs":{"rip":"0x401000","rsp":"0x7000"}}"#)
        #expect(text(event).hasPrefix("vCPU 0: exit IO (2) at RIP 0x401000: port OUT to 0x3f8"))
    }

    @Test("an MMIO exit names the address and the nearest memslot")
    func mmioExit() throws {
        let slot = Memslot(
            slot: 0, guestPhysicalAddress: 0, size: 64 << 20, hostAddress: 0, readOnly: false, purpose: "guest RAM")
        let exit = VcpuExit.mmio(MMIOAccess(address: 0x1_0000_0000, length: 4, isWrite: true, data: 0x1234))
        let report = ExitReport(
            vcpu: 2, exit: exit, registers: registers, nearestMemslot: slot, ucallAddress: 0x5000_0000_0000)
        let rendered = json(.exit(report))
        let expected: String = [
            #"{"event":"exit","vcpu":2,"reason":"MMIO","reason_code":6,"address":"0x100000000","length":4,"#,
            #""direction":"write","data":"0x1234","memslot":{"slot":0,"gpa":"0x0","size":"0x4000000","#,
            #""purpose":"guest RAM","read_only":false,"contains_address":false},"explanation":"MMIO write "#,
            #"of 4 bytes at 0x100000000, data 0x1234, outside every memslot; nearest is memslot 0 (guest RAM, "#,
            #"0x0-0x4000000): there is no device model; only an 8-byte write to the ucall address "#,
            #"0x500000000000 is handled""#,
        ].joined()
        #expect(rendered.hasPrefix(expected), "\(rendered)")
    }

    @Test("SHUTDOWN: the pending exception and the IDT state in the explanation; sregs when read")
    func shutdown() throws {
        var dump = registers
        dump.control = [NamedValue("cr0", 0x8001_0033)]
        dump.idt = DescriptorTableRegister(base: 0, limit: 0)
        let withPending = ExitReport(
            vcpu: 0, exit: .shutdown, registers: dump,
            pendingException: PendingException(vector: 13, errorCode: 0x32, injected: true))
        #expect(
            withPending.explanation
                == "likely a triple fault: #GP could not be delivered: no IDT (IDTR base 0x0, limit 0x0)")
        let rendered = json(.exit(withPending))
        #expect(
            rendered.contains(
                ##""pending_exception":{"vector":13,"vector_name":"#GP","error_code":"0x32","injected":true}"##))
        #expect(rendered.contains(#""sregs":{"cr0":"0x80010033","idt":{"base":"0x0","limit":"0x0"}}"#), "\(rendered)")

        let fromBytes = ExitReport(vcpu: 0, exit: .shutdown, registers: dump, instructionBytes: [0x0f, 0x0b, 0x90])
        #expect(
            fromBytes.explanation
                == "likely a triple fault: the UD2 at RIP raised #UD, which could not be delivered: no IDT "
                + "(IDTR base 0x0, limit 0x0)")
        #expect(json(.exit(fromBytes)).contains(#""pending_exception":null"#))
        #expect(json(.exit(fromBytes)).contains(#""instruction_bytes":"0f 0b 90""#))
        let lines = text(.exit(fromBytes)).split(separator: "\n")
        #expect(lines.count > 2)
        #expect(lines[1] == "  bytes at RIP: 0f 0b 90")
    }

    @Test("INTERNAL_ERROR: the suberror by name, its data, and the emulator's instruction bytes")
    func internalError() {
        // flags = INSTRUCTION_BYTES; then insn_size 3 and the bytes 0f 57 c0 (xorps %xmm0, %xmm0).
        let exit = VcpuExit.internalError(suberror: 1, data: [1, 0x00c0_570f_03, 0])
        let report = ExitReport(vcpu: 0, exit: exit, registers: registers)
        #expect(report.explanation.hasPrefix("EMULATION (1): "))
        #expect(report.explanation.contains("the instruction: 0f 57 c0 (an SSE instruction)"), "\(report.explanation)")
        #expect(report.explanation.contains("-mgeneral-regs-only"))
        #expect(json(.exit(report)).contains(#""suberror":1,"suberror_name":"EMULATION","data":["0x1","0xc0570f03","0x0"]"#))
    }

    @Test("FAIL_ENTRY: the reason decoded for the CPU vendor")
    func failEntry() {
        let report = ExitReport(
            vcpu: 0, exit: .failEntry(reason: 0x8000_0021, cpu: 3), registers: registers, cpuVendor: "GenuineIntel")
        #expect(report.explanation.contains("Intel VMX"))
        #expect(report.explanation.contains("invalid guest state"))
        #expect(
            json(.exit(report)).contains(
                #""hardware_entry_failure_reason":"0x80000021","cpu":3,"cpu_vendor":"GenuineIntel""#))
    }

    @Test("errors: kind, message and details")
    func errors() {
        #expect(
            json(.error(vcpu: 1, ErrorReport(.malformedUcall(.unmappedPointer(gva: 0x1000)))))
                == #"{"event":"error","vcpu":1,"kind":"malformed_ucall","message":"malformed ucall: the ucall struct "#
                + #"pointer 0x1000 is not mapped in the guest's page tables","problem":"unmapped_pointer","gva":"0x1000"}"#)
        let failed = ErrorReport(
            .ioctlFailed(operation: "KVM_RUN", errno: .badAddress),
            memoryFault: .memoryFault(flags: 8, gpa: 0x2000, size: 4096))
        #expect(failed.kind == "ioctl_failed")
        #expect(failed.details.keys == ["operation", "errno", "reason", "gpa", "size", "flags"])
        #expect(failed.message.hasSuffix("KVM reported MEMORY_FAULT at 0x2000, 4096 bytes, flags 0x8"))
    }

    @Test("timeout and summary")
    func timeoutAndSummary() {
        let timeout = TimeoutReport(
            vcpu: 0, rip: 0x40_0060, deadlineNanoseconds: 1_000_000_000, lastUcall: .sync(stage: 1),
            exits: [(.mmio, 1), (.interrupted, 1)])
        #expect(
            json(.timeout(timeout))
                == #"{"event":"timeout","vcpu":0,"rip":"0x400060","deadline_ms":1000.000,"last_ucall":"SYNC [0x1]","#
                + #""exits":{"MMIO":1,"INTR":1}}"#)
        #expect(
            text(.timeout(timeout))
                == "vCPU 0: timeout: still running at RIP 0x400060 after 1.000 s; last ucall SYNC [0x1], "
                + "exits: MMIO=1 INTR=1")

        var exits = ExitStatistics()
        exits.record(ExitReason.mmio.rawValue, nanoseconds: 3000)
        exits.record(ExitReason.mmio.rawValue, nanoseconds: 1000)
        let summary = RunSummary(result: .done, exits: exits, ucalls: 2, elapsedNanoseconds: 1_234_567, vcpuCount: 1)
        #expect(
            json(.summary(summary))
                == #"{"event":"summary","result":"done","exits":{"MMIO":2},"ucalls":2,"elapsed_ms":1.234,"#
                + #""exit_times":{"MMIO":{"total_ns":4000,"mean_ns":2000}}}"#)
        #expect(
            text(.summary(summary)).split(separator: "\n").map(String.init) == [
                "result: done (the vCPU reached DONE): 2 ucalls, 2 exits in 1.235 ms",
                "  exit reason      count    total time     mean time",
                "  MMIO                 2        4.0 µs        2.0 µs",
            ])
    }

    @Test("statistics: numbers and histograms, or why they are missing")
    func statistics() {
        let values = [
            KVMStatistic(name: "exits", kind: .cumulative, unit: KVMStatistic.Unit.none, values: [12]),
            KVMStatistic(name: "halt_wait_hist", kind: .logarithmicHistogram, unit: .seconds, exponent: -9, values: [1, 0, 2]),
        ]
        #expect(
            json(.statistics(StatisticsReport(vcpu: 0, values: values)))
                == #"{"event":"stats","scope":"vcpu","vcpu":0,"values":{"exits":12,"halt_wait_hist":[1,0,2]}}"#)
        #expect(
            text(.statistics(StatisticsReport(vcpu: nil, values: values)))
                == "KVM statistics of the VM (KVM_GET_STATS_FD):\n  exits = 12\n  halt_wait_hist = [1, 0, 2]")
        #expect(
            json(.statistics(StatisticsReport(vcpu: nil, values: [], failure: "KVM_GET_STATS_FD (VM) failed")))
                == #"{"event":"stats","scope":"vm","error":"KVM_GET_STATS_FD (VM) failed"}"#)
    }

    @Test("results map to the documented exit statuses")
    func results() {
        #expect(RunResult.done.exitStatus == 0)
        #expect(RunResult.timeout.exitStatus == 3)
        for result in [RunResult.abort, .unhandled, .fault, .error, .halted] { #expect(result.exitStatus == 1) }
        #expect(RunResult(.faulted(.hlt)) == .halted)
        #expect(RunResult(.faulted(.shutdown)) == .fault)
        #expect(RunResult(.failed(.unhandled(GuestException(vector: 6, rip: 0)))) == .unhandled)
        #expect(RunResult(.error(.malformedUcall(.wrongSize(4)))) == .error)
        #expect(RunResult(.stopped) == nil)
        #expect(RunResult(.done) == nil)
    }

    @Test("durations for people")
    func durations() {
        #expect(RunEventFormatter.duration(850) == "850 ns")
        #expect(RunEventFormatter.duration(12_345) == "12.3 µs")
        #expect(RunEventFormatter.duration(4_567_890) == "4.568 ms")
        #expect(RunEventFormatter.duration(1_250_000_000) == "1.250 s")
        #expect(RunEventFormatter.milliseconds(5) == "0.000")
        #expect(RunEventFormatter.milliseconds(1_000_000_000) == "1000.000")
    }
}

@Suite("The fast JSON path for frequent ucalls")
struct FastJSONLineTests {
    @Test("writes exactly what the general JSON renderer writes", arguments: [
        Ucall.sync([1]), .sync([0, 0xffff_ffff_ffff_ffff, 2, 3, 4, 5, 0x10]), .none([]), .none([7, 8]), .done,
    ])
    func sameBytes(_ ucall: Ucall) {
        for vcpu in [0, 7, 123] {
            let event = RunEvent.ucall(vcpu: vcpu, ucall)
            #expect(RunEventFormatter.fastJSONLine(event) == RunEventFormatter.json(event).rendered)
        }
    }

    @Test("leaves the other events to the general renderer")
    func otherEvents() {
        #expect(RunEventFormatter.fastJSONLine(.ucall(vcpu: 0, .printf("x"))) == nil)
        #expect(RunEventFormatter.fastJSONLine(.ucall(vcpu: 0, .unknown(command: 9, arguments: [1]))) == nil)
    }

    @Test("string escaping: the ASCII fast path and the escapes agree with the rules")
    func escaping() {
        #expect(JSONValue.string("plain text 0x12").description == #""plain text 0x12""#)
        #expect(JSONValue.string("quote \" and \\ and\nnew line").description == #""quote \" and \\ and\nnew line""#)
        #expect(JSONValue.string("tab\tbell\u{07}é").description == #""tab\tbell\u0007é""#)
    }
}
