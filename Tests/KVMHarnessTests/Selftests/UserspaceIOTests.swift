import KVMHarnessTesting
import TestGuests
import Testing

/// A port of Linux 6.12's `x86_64/userspace_io_test.c`: string INs (`rep insb`) that exit to user space, whose data
/// the host gives (`0xaa`), and a host that rewrites the string's count in RCX at an exit (2 to 1, 3 to 8192):
/// KVM must neither fail nor overflow the guest's buffer, and the data must arrive in full.
@Suite("selftest userspace_io_test", .requiresKVM)
struct UserspaceIOTests {
    @Test("rep insb from port 0x80: rewritten counts, then 8 KiB of the host's 0xaa")
    func stringIn() throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_userspace_io))
        let vcpu = vm.vcpus[0]
        var exits = 0
        while true {
            let event = try vcpu.step()
            if case .ucall(let ucall) = event {
                #expect(ucall == .done, "guest: \(ucall)")
                break
            }
            guard case .exit(.io(let access)) = event else {
                Issue.record("expected an IO exit, got \(event)")
                return
            }
            #expect(access.port == 0x80 && !access.isOut && access.size == 1)
            exits += 1
            var registers = try vcpu.registers()
            if registers.rcx == 2 { registers.rcx = 1 }
            if registers.rcx == 3 { registers.rcx = 8192 }
            try vcpu.answerIn([UInt8](repeating: 0xaa, count: Int(access.size) * Int(access.count)))
            try vcpu.setRegisters(registers)
        }
        // KVM hands a string IN to user space a page of data at a time: the 8192-byte strings take two exits each.
        #expect(exits >= 3)
    }
}
