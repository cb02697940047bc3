import KVMHarnessTesting
import Synchronization
import TestGuests
import Testing

@testable import KVMHarness

/// A port of Linux 6.12's `x86_64/sync_regs_test.c`: registers exchanged through `kvm_run` (`kvm_valid_regs`,
/// `kvm_dirty_regs`) instead of ioctls, invalid field bits refused, and KVM staying sane while another thread
/// scribbles over the synced state during runs. The guest loops on a port-I/O ucall NONE, adding 1 to RBX each
/// time, so every run ends in an IO exit whose RBX tells how often the guest got there.
@Suite("selftest sync_regs_test", .requiresKVM, .requires(.syncRegisters))
struct SyncRegsTests {
    static let all: SyncedRegisters = [.general, .special, .events]
    static let invalid = SyncedRegisters(rawValue: 0x8000_0000)

    private func makeVCPU() throws -> VCPU {
        let vm = try VirtualMachine(entry: GuestFunction(guest_sync_regs_loop))
        return vm.vcpus[0]
    }

    /// One run to the next IO exit, which is the loop's NONE ucall.
    private func runToIO(_ vcpu: VCPU, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let event = try vcpu.step()
        guard case .ucall(.none) = event else {
            Issue.record("expected the loop's NONE ucall, got \(event)", sourceLocation: sourceLocation)
            return
        }
        #expect(vcpu.exitInKVMRun().reason == .io, sourceLocation: sourceLocation)
    }

    @Test("KVM supports every sync field the test uses, and no invalid one")
    func capability() throws {
        let fields = UInt64(try KVM.shared().check(.syncRegisters))
        #expect(fields & Self.all.rawValue == Self.all.rawValue)
        #expect(fields & Self.invalid.rawValue == 0)
    }

    @Test("an invalid kvm_valid_regs bit makes KVM_RUN fail with EINVAL, alone or with valid ones")
    func readInvalid() throws {
        let vcpu = try makeVCPU()
        for fields in [Self.invalid, Self.invalid.union(Self.all)] {
            vcpu.syncedRegisters = fields
            #expect(throws: KVMError.ioctlFailed(operation: "KVM_RUN", errno: .invalidArgument)) { try vcpu.step() }
            vcpu.syncedRegisters = []
        }
    }

    @Test("an invalid kvm_dirty_regs bit makes KVM_RUN fail with EINVAL, alone or with valid ones")
    func setInvalid() throws {
        let vcpu = try makeVCPU()
        for fields in [Self.invalid, Self.invalid.union(Self.all)] {
            vcpu.dirtySyncedRegisters = fields
            #expect(throws: KVMError.ioctlFailed(operation: "KVM_RUN", errno: .invalidArgument)) { try vcpu.step() }
            vcpu.dirtySyncedRegisters = []
        }
    }

    @Test("with every field requested, kvm_run holds what KVM_GET_REGS returns")
    func requestAndVerifyAllValid() throws {
        let vcpu = try makeVCPU()
        vcpu.syncedRegisters = Self.all
        try runToIO(vcpu)
        expectSameRegisters(try vcpu.registers(), vcpu.syncedGeneralRegisters)
    }

    @Test("values written into kvm_run and marked dirty reach the guest: RBX, APIC base")
    func setAndVerifyVarious() throws {
        let vcpu = try makeVCPU()
        vcpu.syncedRegisters = Self.all
        try runToIO(vcpu)

        var general = vcpu.syncedGeneralRegisters
        general.rbx = 0xBAD1DEA
        var special = vcpu.syncedSpecialRegisters
        special.apic_base = 1 << 11
        vcpu.syncedGeneralRegisters = general
        vcpu.syncedSpecialRegisters = special
        #expect(vcpu.dirtySyncedRegisters == [.general, .special])
        try runToIO(vcpu)
        #expect(vcpu.syncedGeneralRegisters.rbx == 0xBAD1DEA + 1)
        #expect(vcpu.syncedSpecialRegisters.apic_base == 1 << 11)
        expectSameRegisters(try vcpu.registers(), vcpu.syncedGeneralRegisters)
    }

    @Test("without kvm_dirty_regs, a value written into kvm_run is overwritten by the guest's")
    func clearDirtyBits() throws {
        let vcpu = try makeVCPU()
        vcpu.syncedRegisters = Self.all
        vcpu.dirtySyncedRegisters = []
        run(vcpu) { $0.s.regs.regs.rbx = 0xDEAD_BEEF }
        try runToIO(vcpu)
        #expect(vcpu.syncedGeneralRegisters.rbx != 0xDEAD_BEEF)
    }

    @Test("with neither valid nor dirty bits, kvm_run and the guest's registers do not touch each other")
    func clearValidAndDirty() throws {
        let vcpu = try makeVCPU()
        vcpu.syncedRegisters = Self.all
        try runToIO(vcpu)

        vcpu.syncedRegisters = []
        vcpu.dirtySyncedRegisters = []
        run(vcpu) { $0.s.regs.regs.rbx = 0xAAAA }
        var registers = try vcpu.registers()
        registers.rbx = 0xBAC0
        try vcpu.setRegisters(registers)
        try runToIO(vcpu)
        #expect(vcpu.syncedGeneralRegisters.rbx == 0xAAAA)
        #expect(try vcpu.registers().rbx == 0xBAC0 + 1)
    }

    @Test("dirty bits without valid bits load kvm_run into the guest without copying back")
    func clearValidBits() throws {
        let vcpu = try makeVCPU()
        vcpu.syncedRegisters = Self.all
        try runToIO(vcpu)

        vcpu.syncedRegisters = []
        vcpu.dirtySyncedRegisters = Self.all
        run(vcpu) { $0.s.regs.regs.rbx = 0xBBBB }
        try runToIO(vcpu)
        #expect(vcpu.syncedGeneralRegisters.rbx == 0xBBBB)
        #expect(try vcpu.registers().rbx == 0xBBBB + 1)
    }

    @Test("racing CR4.PAE flips in the synced special registers against runs and KVM_TRANSLATE")
    func raceCR4() throws {
        try race { shared in
            let withPAE = shared.pointer.pointee.s.regs.sregs.cr4
            let withoutPAE = withPAE & ~(1 << 5)
            return {
                shared.pointer.pointee.kvm_dirty_regs = UInt64(KVM_SYNC_X86_SREGS)
                shared.pointer.pointee.s.regs.sregs.cr4 = withPAE
                for _ in 0..<512 { spinHint() }
                shared.pointer.pointee.s.regs.sregs.cr4 = withoutPAE
            }
        }
    }

    @Test("racing a pending #UD whose vector turns invalid against runs")
    func raceException() throws {
        try race { shared in
            {
                shared.pointer.pointee.kvm_dirty_regs = UInt64(KVM_SYNC_X86_EVENTS)
                shared.pointer.pointee.s.regs.events.flags = 0
                shared.pointer.pointee.s.regs.events.exception.nr = 6
                shared.pointer.pointee.s.regs.events.exception.pending = 1
                shared.pointer.pointee.s.regs.events.exception.nr = 255
            }
        }
    }

    @Test("racing an exception that is both injected and pending against runs")
    func raceInjectedPending() throws {
        try race { shared in
            shared.pointer.pointee.s.regs.events.exception.nr = 6
            return {
                shared.pointer.pointee.kvm_dirty_regs = UInt64(KVM_SYNC_X86_EVENTS)
                shared.pointer.pointee.s.regs.events.flags = 0
                shared.pointer.pointee.s.regs.events.exception.injected = 1
                shared.pointer.pointee.s.regs.events.exception.pending = 1
            }
        }
    }

    // MARK: - Helpers

    /// Writes `kvm_run` directly, as the C test does (the fields a test scribbles on without marking them dirty).
    private func run(_ vcpu: VCPU, _ change: (inout kvm_run) -> Void) {
        // SAFETY: `vcpu.run` is the vCPU's live kvm_run mapping and no thread is running the vCPU.
        change(&vcpu.run.pointee)
    }

    private func expectSameRegisters(
        _ left: kvm_regs, _ right: kvm_regs, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let names = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp", "r8", "r9", "r10", "r11", "r12", "r13",
                     "r14", "r15", "rip", "rflags"]
        let a = [left.rax, left.rbx, left.rcx, left.rdx, left.rsi, left.rdi, left.rsp, left.rbp, left.r8, left.r9,
                 left.r10, left.r11, left.r12, left.r13, left.r14, left.r15, left.rip, left.rflags]
        let b = [right.rax, right.rbx, right.rcx, right.rdx, right.rsi, right.rdi, right.rsp, right.rbp, right.r8,
                 right.r9, right.r10, right.r11, right.r12, right.r13, right.r14, right.r15, right.rip, right.rflags]
        for (i, name) in names.enumerated() {
            #expect(a[i] == b[i], "register \(name): \(hex(a[i])) vs \(hex(b[i]))", sourceLocation: sourceLocation)
        }
    }

    /// Runs the vCPU for about two seconds while another thread repeats `makeRacer(run)`'s body on `kvm_run`;
    /// a shutdown (the injected faults can triple-fault the guest) reloads the state saved before the race.
    /// KVM must neither fail in a way other than refusing the state nor hang; the host must not crash.
    private func race(_ makeRacer: (SharedRun) -> @Sendable () -> Void) throws {
        let vcpu = try makeVCPU()
        vcpu.syncedRegisters = .special
        try runToIO(vcpu)
        vcpu.syncedRegisters = []
        let saved = try vcpu.saveState()
        #expect(vcpu.syncedSpecialRegisters.cr4 & (1 << 5) != 0, "CR4.PAE in long mode")
        #expect(vcpu.syncedSpecialRegisters.efer & (1 << 8) != 0, "EFER.LME in long mode")

        let body = makeRacer(SharedRun(pointer: vcpu.run))
        let stop = Atomic<Bool>(false)
        let racer = try OSThread {
            while !stop.load(ordering: .sequentiallyConsistent) { body() }
        }
        defer {
            stop.store(true, ordering: .sequentiallyConsistent)
            racer.join()
        }
        let end = ContinuousClock.now + .seconds(2)
        var runs = 0
        while ContinuousClock.now < end {
            runs += 1
            if case .exit(.shutdown)? = try? vcpu.step() { try vcpu.loadState(saved) }
            _ = try? vcpu.translate(0)
        }
        #expect(runs > 0)
    }
}

/// The vCPU's kvm_run, handed to the racing thread.
private struct SharedRun: @unchecked Sendable {
    // Sendable: kvm_run is memory shared with the kernel by design; the race between the racer's writes and
    // KVM_RUN's reads is what the test exercises, and the mapping outlives the racer (joined before the VM goes).
    let pointer: UnsafeMutablePointer<kvm_run>
}

/// A pause between the racer's writes, as the C test's 512 NOPs.
@inline(never)
private func spinHint() {}
