import KVMHarnessTesting
import TestGuests
import Testing

/// Port of Linux 6.12 `x86_64/exit_on_emulation_failure_test.c`: with `KVM_CAP_EXIT_ON_EMULATION_FAILURE`, an
/// instruction KVM cannot emulate exits to user space with its bytes, and the guest can be resumed past it.
@Suite("selftest exit_on_emulation_failure_test", .requiresKVM)
struct ExitOnEmulationFailureTests {
    /// A page that no memslot backs, identity-mapped: every access to it is MMIO.
    static let mmioAddress: UInt64 = 0x7_0000_0000

    @Test("FLDS from MMIO: INTERNAL_ERROR/EMULATION with the bytes D9 00; skipping them reaches DONE",
          .requires(.exitOnEmulationFailure))
    func fldsFromMMIO() throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_flds_from_mmio), arguments: [Self.mmioAddress])
        try vm.enableCapability(.exitOnEmulationFailure, arguments: [1])
        try vm.map(gva: Self.mmioAddress, gpa: Self.mmioAddress, size: 4096)
        let vcpu = vm.vcpus[0]

        let event = try vcpu.step()
        guard case .exit(.internalError(let suberror, let data)) = event else {
            Issue.record("expected KVM_EXIT_INTERNAL_ERROR, got \(event)")
            return
        }
        #expect(suberror == UInt32(KVM_INTERNAL_ERROR_EMULATION))
        // kvm_run.emulation_failure over internal.data: flags, then insn_size and up to 15 instruction bytes.
        try #require(data.count >= 3, "the exit carries flags and instruction bytes")
        #expect(data[0] & UInt64(KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) != 0)
        let size = data[1] & 0xff
        let bytes = (1...2).map { UInt8(truncatingIfNeeded: data[1] >> (8 * UInt64($0))) }
        #expect(size >= 2, "FLDS (%rax) is a 2-byte instruction")
        #expect(bytes == [0xd9, 0x00])

        var regs = try vcpu.registers()
        regs.rip += 2
        try vcpu.setRegisters(regs)
        #expect(try vcpu.nextUcall() == .done)
    }
}
