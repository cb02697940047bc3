import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

@Suite("Ucalls from guest user mode (CPL3)", .requiresKVM)
struct UserModeTests {
    @Test("a CPL3 guest makes SYNC, a host call and DONE", arguments: [UInt64(0), 1])
    func syncReplyDone(pio: UInt64) async throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_user_mode), arguments: [pio])
        vm.answerHostCalls(UInt64(GUEST_CALL_SUM), with: sumHandler)
        try vm.enableUserMode()
        await vm.expectRun(ucalls: [
            .sync(stage: 1, 0), .sync(stage: 2, 3), .hostCall(command: UInt64(GUEST_CALL_SUM), arguments: [4]),
            .sync(stage: 3, 0, 10), .done,
        ])
    }

    @Test("a CPL3 ucall pointing at a supervisor-only page is refused with that error", arguments: [UInt64(0), 1])
    func supervisorOnlyStruct(pio: UInt64) async throws {
        // A well-formed SYNC on a page user mode may not touch: the host must not read it for CPL3.
        let gva: UInt64 = 0x6000_0000_0000
        let vm = try VirtualMachine(entry: GuestFunction(guest_user_points_at), arguments: [gva, pio])
        try vm.allocate(gva: gva, size: 4096)
        try vm.write(UInt64(1), at: gva)
        try vm.enableUserMode()
        #expect(throws: KVMError.malformedUcall(.supervisorOnlyPage(gva: gva))) { try vm.vcpus[0].nextUcall() }
    }

    @Test("with user mode on, a #UD elsewhere still goes to the harness's stub and is reported where it happened")
    func otherUndefinedOpcode() async throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_undefined_opcode))
        try vm.enableUserMode()
        let report = await vm.run()
        #expect(report.vcpus[0].outcome == .failed(.unhandled(GuestException(vector: 6, rip: guest_ud2_address()))))
    }
}
