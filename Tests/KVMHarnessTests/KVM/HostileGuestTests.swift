import KVMHarnessGuest
import KVMHarnessStubs
import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

@Suite("Hostile guests get typed failures, never a crash or a hang", .requiresKVM)
struct HostileGuestTests {
    @Test("writing its own code is a #PF: code is shared read-only")
    func writeOwnCode() async throws {
        let report = try await VirtualMachine(entry: GuestFunction(guest_write_own_code)).run()
        guard case .failed(.unhandled(let exception)) = report.vcpus[0].outcome else {
            Issue.record("expected UNHANDLED, got \(report.vcpus[0].outcome)")
            return
        }
        #expect(exception.vector == 14)
        #expect(exception.cr2 == GuestFunction(guest_write_own_code).address)
        #expect(exception.errorCode & 0x3 == 0x3, "present and write")
        try await expectNormalVMRuns()
    }

    @Test("page tables outside guest memory end in SHUTDOWN, not a host fault")
    func garbageCR3() async throws {
        let report = try await VirtualMachine(entry: GuestFunction(guest_load_garbage_cr3)).run(RunOptions(deadline: .seconds(10)))
        #expect(report.vcpus[0].outcome == .faulted(.shutdown))
        try await expectNormalVMRuns()
    }

    @Test("a __thread variable faults below the TLS page instead of corrupting the TSS")
    func threadLocal() async throws {
        let report = try await VirtualMachine(entry: GuestFunction(guest_thread_local)).run()
        guard case .failed(.unhandled(let exception)) = report.vcpus[0].outcome else {
            Issue.record("expected UNHANDLED, got \(report.vcpus[0].outcome)")
            return
        }
        let tls = VirtualMachine.vcpuBlock(0) + UInt64(KVMH_VCPU_TLS)
        #expect(exception.vector == 14)
        #expect(exception.cr2 < tls && exception.cr2 >= tls - 4096)
        try await expectNormalVMRuns()
    }

    @Test("a ucall pointer valid only in the host is refused, not followed")
    func hostPointer() async throws {
        // The address of a host-only heap object: the guest cannot see it and the host must not read it.
        let secret = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
        defer { secret.deallocate() }
        let address = UInt64(UInt(bitPattern: secret))
        let vm = try VirtualMachine(entry: GuestFunction(guest_ucall_points_at_host), arguments: [address])
        #expect(throws: KVMError.malformedUcall(.unmappedPointer(gva: address))) { try vm.vcpus[0].nextUcall() }
        try await expectNormalVMRuns()
    }

    @Test("HLT before DONE is a HLT exit in a VM without an in-kernel interrupt controller to sleep on")
    func halt() async throws {
        let vm = try VirtualMachine(
            entry: GuestFunction(guest_halts), configuration: .init(interruptController: .none))
        let report = await vm.run()
        #expect(report.vcpus[0].checkpoints == [.sync([1])])
        #expect(report.vcpus[0].outcome == .faulted(.hlt))
        try await expectNormalVMRuns()
    }
}
