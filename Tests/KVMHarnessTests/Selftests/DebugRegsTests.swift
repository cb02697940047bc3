import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

/// A port of Linux 6.12's `x86_64/debug_regs.c`: guest debug through `KVM_SET_GUEST_DEBUG`: a software breakpoint
/// (INT3 exits as #BP), instruction and data breakpoints in each of DR0-DR3 (#DB with the matching DR6 bit), single
/// steps over six instructions with an interrupt pending and blocked (`KVM_GUESTDBG_BLOCKIRQ`), and DR7.GD (a debug
/// register access exits with DR6.BD). Every debug exit's exception, RIP and DR6 are asserted exactly.
@Suite("selftest debug_regs", .requiresKVM, .requires(.guestDebug))
struct DebugRegsTests {
    static let bp: UInt32 = 3, db: UInt32 = 1

    @Test("INT3, hardware instruction and data breakpoints, single-step with BLOCKIRQ, DR7.GD")
    func debugExits() throws {
        // The guest sends itself an interrupt through its x2APIC; a full controller, as the kernel's VM has.
        let vm = try VirtualMachine(configuration: .init(interruptController: .full))
        let vcpu = try vm.addVCPU(entry: GuestFunction(guest_debug_regs))
        let swBP = guest_debug_label(0), hwBP = guest_debug_label(1), writeData = guest_debug_label(2)
        let ssStart = guest_debug_label(3), bdStart = guest_debug_label(4), writeStart = guest_debug_label(5)
        let watched = guest_debug_value_address()

        func setRIP(_ rip: UInt64) throws {
            var registers = try vcpu.registers()
            registers.rip = rip
            try vcpu.setRegisters(registers)
        }
        func expectDebugExit(
            _ exception: UInt32, at pc: UInt64, dr6: UInt64? = nil, _ what: String,
            sourceLocation: SourceLocation = #_sourceLocation
        ) throws {
            let event = try vcpu.step()
            guard case .exit(.debug(let gotException, let gotPC, let gotDR6, _)) = event else {
                Issue.record("\(what): expected a DEBUG exit, got \(event)", sourceLocation: sourceLocation)
                return
            }
            #expect(gotException == exception, "\(what): exception", sourceLocation: sourceLocation)
            #expect(gotPC == pc, "\(what): RIP \(hex(gotPC)), expected \(hex(pc))", sourceLocation: sourceLocation)
            if let dr6 {
                #expect(gotDR6 == dr6, "\(what): DR6 \(hex(gotDR6)), expected \(hex(dr6))", sourceLocation: sourceLocation)
            }
        }

        // Software breakpoint: INT3 exits as #BP at its own address.
        try vcpu.setGuestDebug(GuestDebug(control: [.enable, .softwareBreakpoints]))
        try withKnownIssue("PVM gives no KVM_EXIT_DEBUG for INT3: its instruction emulator cannot run it") {
            try expectDebugExit(Self.bp, at: swBP, "INT3")
        } when: {
            HostDepartures.isPVM
        }
        try setRIP(swBP + 1)

        // Instruction breakpoint in each of DR0-DR3.
        for i in 0..<4 {
            var registers = [UInt64](repeating: 0, count: 8)
            registers[i] = hwBP
            registers[7] = 0x400 | (1 << (2 * UInt64(i) + 1))
            try vcpu.setGuestDebug(GuestDebug(control: [.enable, .hardwareBreakpoints], debugRegisters: registers))
            try expectDebugExit(Self.db, at: hwBP, dr6: 0xffff_0ff0 | (1 << UInt64(i)), "instruction breakpoint DR\(i)")
        }
        try setRIP(hwBP + 1)  // over the NOP

        // Data write breakpoint (4 bytes) in each of DR0-DR3: the exit comes after the store, which each round runs
        // again (the C test steps back over it).
        for i in 0..<4 {
            try setRIP(writeStart)
            var registers = [UInt64](repeating: 0, count: 8)
            registers[i] = watched
            registers[7] = 0x400 | (1 << (2 * UInt64(i) + 1)) | (0xd_0000 << (4 * UInt64(i)))
            try vcpu.setGuestDebug(GuestDebug(control: [.enable, .hardwareBreakpoints], debugRegisters: registers))
            try withKnownIssue("PVM's instruction emulator does not check data breakpoints (no #DB after the store)") {
                try expectDebugExit(Self.db, at: writeData, dr6: 0xffff_0ff0 | (1 << UInt64(i)), "data breakpoint DR\(i)")
            } when: {
                HostDepartures.isPVM
            }
        }
        try setRIP(ssStart)  // where the C test is after its last step over the store

        // Single steps: STI, XOR, CPUID, MOV, WRMSR, CLI; the pending interrupt stays blocked.
        var rip = ssStart
        for (i, length) in [1, 2, 2, 5, 2, 1].enumerated() {
            rip += UInt64(length)
            try vcpu.setGuestDebug(
                GuestDebug(control: [.enable, .singleStep, .blockInterrupts], debugRegisters: [0, 0, 0, 0, 0, 0, 0, 0x400]))
            try expectDebugExit(Self.db, at: rip, dr6: 0xffff_4ff0, "single step \(i)")
        }

        // DR7.GD: the MOV from DR0 exits with DR6.BD.
        try vcpu.setGuestDebug(
            GuestDebug(control: [.enable, .hardwareBreakpoints], debugRegisters: [0, 0, 0, 0, 0, 0, 0, 0x400 | (1 << 13)]))
        try withKnownIssue("PVM's instruction emulator ignores DR7.GD (no #DB for the debug-register access)") {
            try expectDebugExit(Self.db, at: bdStart, dr6: 0xffff_0ff0 | (1 << 13), "DR7.GD")
        } when: {
            HostDepartures.isPVM
        }
        // Where the access did not exit, the guest went on to its DONE already.
        if vcpu.lastUcall != .done {
            try vcpu.setGuestDebug(.disabled)
            #expect(try vcpu.nextUcall() == .done)
        }
    }
}
