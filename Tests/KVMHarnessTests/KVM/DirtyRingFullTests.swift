import Glibc
import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

/// What KVM promises about a full dirty ring (Documentation/virt/kvm/api.rst, KVM_CAP_DIRTY_LOG_RING): a vCPU whose
/// ring is (soft) full leaves `KVM_RUN` with `KVM_EXIT_DIRTY_RING_FULL` and does not run again until user space has
/// harvested the ring and called `KVM_RESET_DIRTY_RINGS`; KVM never has more entries outstanding than the ring holds,
/// so an entry user space has not harvested is never overwritten.
///
/// KVM keeps `KVM_DIRTY_RING_RSVD_ENTRIES` (64) entries in reserve for the writes a vCPU makes between reaching the
/// soft limit and leaving. On PVM the guest's CPL0 writes are emulated in batches (`kvm_pvm.pvm_emul_batch`), and a
/// batch can push more than 64 entries after the soft limit: KVM then writes past the ring's size (the kernel warns
/// at `kvm_dirty_ring_push`) over the oldest unharvested entries, and the kernel's dirty_log_test reports the first
/// of those pages missing ("Page N should have its dirty bit set", N the first entry not yet harvested).
/// Several fills are made, since the overrun depends on where in a batch the limit falls.
@Suite("dirty ring: a full ring keeps the vCPU out", .requiresKVM, .requires(.dirtyLogRing), .serialized)
struct DirtyRingFullTests {
    static let entries = 1024
    /// More pages than ring entries: the guest's first pass (page 0, 1, 2, ... once each) fills the ring.
    static let pages = 4 * entries
    static let gva: UInt64 = 0xc000_0000
    static let gpa: UInt64 = 1 << 36

    static let fills = getenv("KVMH_RING_FILLS").flatMap { Int(String(cString: $0)) } ?? 8

    @Test("KVM_RUN again without a reset exits at once, the guest does not run, no entry is overwritten", arguments: 0..<fills)
    func fullRingKeepsVCPUOut(fill: Int) throws {
        let vm = try VirtualMachine(configuration: .init())
        try vm.enableDirtyRing(entries: Self.entries)
        let size = UInt64(Self.pages) * 4096
        try vm.addMemslot(1, gpa: Self.gpa, size: size, flags: .logDirtyPages)
        try vm.map(gva: Self.gva, gpa: Self.gpa, size: size)
        try vm.addVCPU(entry: GuestFunction(guest_dirty_log), arguments: [Self.gva, UInt64(Self.pages), 1])
        try vm.write(1 as UInt64, at: UInt64(UInt(bitPattern: dirty_log_iteration_address())))
        let vcpu = vm.vcpus[0]
        let ring = try vm.dirtyRing(of: vcpu)
        let memory = try vm.hostMemory(gpa: Self.gpa, count: Int(size))
        let written = { (0..<Self.pages).count { memory.load(fromByteOffset: $0 * 4096, as: UInt64.self) == 1 } }

        // The first pass fills the ring before the guest's first SYNC.
        let first = try vcpu.step()
        try #require(first == .exit(.other(.dirtyRingFull)), "the first pass over \(Self.pages) pages fills the ring")
        let filled = ring.harvest()
        let writtenAtFull = written()
        // The i-th entry is page i in the first pass; one that is not was overwritten by a later push.
        let overwritten = filled.enumerated().filter { $0.element.page != UInt64($0.offset) }.map(\.offset)
        withKnownIssue("PVM pushes more dirty-ring entries after the soft limit than KVM reserves and overwrites unharvested ones (the miss of the kernel's dirty_log_test)") {
            #expect(overwritten == [], "ring entries overwritten before they were harvested (\(writtenAtFull) pages written)")
        } when: {
            HostDepartures.isPVM && !overwritten.isEmpty
        }
        #expect(filled.count <= Self.entries)

        // Not reset: KVM_RUN must exit at once with the ring still full, without running the guest.
        var events: [VcpuEvent] = []
        var pushed: [DirtyPage] = []
        for _ in 0..<3 {
            events.append(try vcpu.step())
            pushed += ring.harvest()
        }
        let writtenAfter = written()
        #expect(events == Array(repeating: .exit(.other(.dirtyRingFull)), count: 3))
        #expect(pushed == [], "entries pushed while the ring was full")
        #expect(writtenAfter == writtenAtFull, "pages the guest wrote while its ring was full")
    }
}
