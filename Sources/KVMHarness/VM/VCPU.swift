internal import CKVM
internal import KVMHarnessGuest
import Glibc
internal import Synchronization
import SystemPackage

/// What one `KVM_RUN` ended with, from the harness's point of view.
public enum VcpuEvent: Hashable, Sendable {
    /// The guest made a ucall (MMIO or port I/O transport), decoded.
    case ucall(Ucall)
    /// Any other exit.
    case exit(VcpuExit)
    /// The vCPU was kicked out of `KVM_RUN` by `kick()` (a deadline, or another vCPU's failure).
    case kicked
}

/// How a ucall reached the host.
public enum UcallTransport: String, Sendable {
    /// An 8-byte store to the ucall MMIO address.
    case mmio
    /// An IN from port 0x1000 with the struct's address in RDI.
    case pio
}

/// One virtual CPU: its file descriptor, its `kvm_run` mapping, and the ucall loop.
///
/// A vCPU is driven by one thread at a time (`KVM_RUN` blocks, so keep it off Swift's cooperative pool: the test
/// helpers give every vCPU a thread of its own). `kick()` may be called from any thread.
public final class VCPU: @unchecked Sendable {
    /// The vCPU index (its `KVM_CREATE_VCPU` id and initial APIC ID).
    public let index: Int
    let fd: FileDescriptor
    let runMapping: HostMapping
    let run: UnsafeMutablePointer<kvm_run>
    let state: VMState
    private let ucallAddress: UInt64
    let physicalAddressBits: Int

    // The properties `step()` writes on every exit are `@exclusivity(unchecked)`: Swift's dynamic exclusivity
    // checks on class properties cost about 400 host instructions per exit (a third of the ucall path), and they
    // could only catch an overlapping access on the same thread, which `step()` (no callbacks) cannot make. A vCPU
    // is driven by one thread at a time either way.

    /// Exit counts by reason since the vCPU was created.
    @exclusivity(unchecked) public private(set) var statistics = ExitStatistics()
    /// When true, each `KVM_RUN` is timed and the time is added to `statistics` (two clock reads per exit).
    @exclusivity(unchecked) public var measuresExitTimes = false
    /// The last ucall decoded, for diagnostics.
    @exclusivity(unchecked) public private(set) var lastUcall: Ucall?
    /// How the last ucall arrived.
    @exclusivity(unchecked) public private(set) var lastUcallTransport: UcallTransport?
    /// The last exit that was not a ucall.
    @exclusivity(unchecked) public private(set) var lastExit: VcpuExit?

    /// `kvm_run.kvm_valid_regs` as this object last set it (KVM never changes it).
    @exclusivity(unchecked) var syncedRegistersMask: UInt64 = 0
    /// Whether the test chose `syncedRegisters` itself, so the ucall path no longer adds to it.
    @exclusivity(unchecked) var registersChosenByTest = false

    private let stopRequested = Atomic<Bool>(false)
    /// The thread inside `step()` (its `pthread_t`), or 0. `kick()` signals it only while counted in
    /// `kicksInFlight`, and `step()`, after clearing it, waits for that count to drop to 0 before returning, so a
    /// signalled thread is always alive (see `leaveStep()`). Atomics rather than a lock: this is on every exit.
    private let drivingThread = Atomic<UInt>(0)
    /// The `kick()` calls between reading `drivingThread` and finishing `pthread_kill`.
    private let kicksInFlight = Atomic<Int>(0)

    init(index: Int, fd: FileDescriptor, mmapSize: Int, state: VMState) throws(KVMError) {
        self.index = index
        self.fd = fd
        self.state = state
        ucallAddress = state.ucallAddress
        physicalAddressBits = state.physicalAddressBits
        do {
            runMapping = try HostMapping(shared: fd, size: mmapSize, operation: "mmap(kvm_run of vCPU \(index))")
        } catch {
            closeQuietly(fd)
            throw error
        }
        // SAFETY: the mapping is KVM_GET_VCPU_MMAP_SIZE bytes (at least sizeof(struct kvm_run)) of the vCPU's shared
        // kvm_run, page aligned, and lives as long as this VCPU; every read of `run` below goes through it.
        run = runMapping.base.assumingMemoryBound(to: kvm_run.self)
        // Ask KVM to copy the special registers into kvm_run on every exit: the ucall path needs CR3 for the page
        // walk, and reading it there saves an ioctl per exit. The general-purpose registers are added the first
        // time the vCPU makes a port-I/O ucall, which needs RDI (see `decodePIOUcall`).
        #if arch(x86_64)
        syncedRegistersMask = UInt64(KVM_SYNC_X86_SREGS)
        ckvm_run_set_valid_regs(run, syncedRegistersMask)
        #endif
    }

    deinit { closeQuietly(fd) }

    // MARK: - Running

    /// Runs the guest until the next exit and decodes it (one `KVM_RUN`, retried after stray signals).
    ///
    /// A ucall exit (an 8-byte write of a struct pointer to the ucall MMIO address, or an IN from port 0x1000) is
    /// decoded by walking the guest's page tables from CR3 at the exit and reading the struct through memslots
    /// only. Any other exit is returned as it is.
    ///
    /// - Throws: `.malformedUcall` for an access to the ucall address that is not a readable 8-byte write,
    ///   `.ioctlFailed("KVM_RUN")` if KVM refuses to run the vCPU.
    public func step() throws(KVMError) -> VcpuEvent {
        // Threads inherit their creator's signal mask, and libdispatch's workers block every signal: make sure this
        // thread can take a kick (once per thread), then let kick() find it for as long as it is in here.
        ckvm_unblock_kick_signal_once()
        drivingThread.store(UInt(pthread_self()), ordering: .sequentiallyConsistent)
        defer { leaveStep() }
        let started = measuresExitTimes ? monotonicNanoseconds() : 0
        while system_ioctl(fd.rawValue, CKVM_RUN, 0) < 0 {
            let error = Glibc.errno
            if (error == EFAULT || error == Self.hardwarePoisonErrno) && ckvm_run_exit_reason(run) == Self.memoryFaultExit {
                // KVM_EXIT_MEMORY_FAULT is the one exit that comes with KVM_RUN failing: report it as the exit.
                statistics.record(Self.memoryFaultExit, nanoseconds: measuresExitTimes ? monotonicNanoseconds() - started : 0)
                let exit = VcpuExit.decode(run, mapSize: runMapping.size)
                lastExit = exit
                return .exit(exit)
            }
            guard error == EINTR || error == EAGAIN else {
                throw .ioctlFailed(operation: "KVM_RUN", errno: Errno(rawValue: error))
            }
            if stopRequested.load(ordering: .sequentiallyConsistent) {
                statistics.record(UInt32(KVM_EXIT_INTR), nanoseconds: measuresExitTimes ? monotonicNanoseconds() - started : 0)
                return .kicked
            }
        }
        let reason = ckvm_run_exit_reason(run)
        statistics.record(reason, nanoseconds: measuresExitTimes ? monotonicNanoseconds() - started : 0)

        if reason == UInt32(KVM_EXIT_MMIO) && ckvm_run_mmio_phys_addr(run) == ucallAddress {
            let length = Int(ckvm_run_mmio_len(run))
            guard ckvm_run_mmio_is_write(run) != 0 else { throw .malformedUcall(.read(size: length)) }
            guard length == 8 else { throw .malformedUcall(.wrongSize(length)) }
            return .ucall(try decodeUcall(at: ckvm_run_mmio_data_u64(run), transport: .mmio))
        }
        #if arch(x86_64)
        if reason == UInt32(KVM_EXIT_IO) && ckvm_run_io_port(run) == Self.ucallPort
            && ckvm_run_io_direction(run) == UInt8(KVM_EXIT_IO_IN)
        {
            return .ucall(try decodePIOUcall())
        }
        #elseif arch(arm64)
        if reason == UInt32(KVM_EXIT_ARM_NISV) && ckvm_run_arm_nisv_fault_ipa(run) == ucallAddress {
            throw .malformedUcall(.storeWithoutSyndrome(iss: ckvm_run_arm_nisv_esr_iss(run)))
        }
        #endif
        let exit = VcpuExit.decode(run, mapSize: runMapping.size)
        lastExit = exit
        return .exit(exit)
    }

    /// Runs the guest until its next ucall, as the kernel selftests' `vcpu_run` + `get_ucall` do.
    ///
    /// - Throws: `.unexpectedExit` (with RIP) for any exit that is not a ucall, `.interrupted` if kicked,
    ///   `.malformedUcall`, or `.ioctlFailed`.
    public func nextUcall() throws(KVMError) -> Ucall {
        switch try step() {
        case .ucall(let ucall):
            return ucall
        case .exit(let exit):
            throw .unexpectedExit(exit, rip: programCounterAtLastExit)
        case .kicked:
            throw .interrupted
        }
    }

    /// `KVM_EXIT_MEMORY_FAULT` (Linux 6.8; CLinuxKVM defines it where the installed headers are older).
    static let memoryFaultExit = UInt32(KVM_EXIT_MEMORY_FAULT)
    /// `EHWPOISON`, which KVM_RUN returns with a memory-fault exit for poisoned pages.
    static let hardwarePoisonErrno: Int32 = 133

    /// Decodes the ucall at `gva` through the page tables at the exit, with the access checks of the guest's
    /// privilege level then (CS.DPL: a ucall made at CPL3 reaches user pages only), and answers a host call.
    @inline(__always)
    func decodeUcall(at gva: UInt64, transport: UcallTransport) throws(KVMError) -> Ucall {
        let (root, userMode) = try translationAtExit()
        // Every read and write of guest memory happens under the memslot lock, so no slot's host memory can be
        // unmapped meanwhile; a host call's handler runs between them with the lock released (it may change slots),
        // and the answer is written through the memslot table as it is then.
        func memory() -> GuestVirtualMemory<MemslotTable> {
            GuestVirtualMemory(
                memory: state.memslots, cr3: root, physicalAddressBits: physicalAddressBits, userAccess: userMode)
        }
        var taken: HostCallAnswer.Taken?
        var handler: HostCallHandler?
        var ucall = try state.memslotLock.reading { () throws(KVMError) -> Ucall in
            let ucall = try UcallDecoder.decode(gva: gva, memory: memory())
            if case .unknown(let command, let arguments) = ucall, let found = state.hostCalls.handler(for: command) {
                handler = found
                taken = try HostCallAnswer.take(
                    command: command, arguments: arguments, gva: gva, vcpu: index, memory: memory())
            }
            return ucall
        }
        if var call = taken, let handler {
            let problem = HostCallAnswer.run(handler, on: &call)
            ucall = try state.memslotLock.reading { () throws(KVMError) -> Ucall in
                try HostCallAnswer.give(call, problem: problem, memory: memory())
            }
        }
        lastUcall = ucall
        lastUcallTransport = transport
        return ucall
    }

    // MARK: - Kicking

    /// Makes the vCPU leave `KVM_RUN` as soon as possible and stay out: `step()` returns `.kicked` until
    /// `clearKick()`. Safe from any thread.
    ///
    /// It sets `kvm_run.immediate_exit` before signalling the thread, so a thread that is between its last check and
    /// the ioctl still returns at once: there is no window in which the kick is lost. The signal goes only to a
    /// thread that is inside `step()` at that moment, under the lock `step()` takes to leave, so it never reaches a
    /// thread that has finished (or exited): a kick after a run, or of a vCPU no thread drives, only sets the flag.
    public func kick() {
        stopRequested.store(true, ordering: .sequentiallyConsistent)
        ckvm_run_set_immediate_exit(run, 1)
        kicksInFlight.add(1, ordering: .sequentiallyConsistent)
        let thread = drivingThread.load(ordering: .sequentiallyConsistent)
        if thread != 0 { pthread_kill(pthread_t(thread), KickSignal.number) }
        kicksInFlight.subtract(1, ordering: .sequentiallyConsistent)
    }

    /// Whether `kick()` was called and not cleared.
    public var isKicked: Bool { stopRequested.load(ordering: .sequentiallyConsistent) }

    /// Whether a thread is inside `step()` now (the thread a kick would signal).
    package var isDriven: Bool { drivingThread.load(ordering: .sequentiallyConsistent) != 0 }

    /// Clears `drivingThread`, then waits until no `kick()` can still be signalling this thread.
    ///
    /// Why this is enough, in the single total order of sequentially consistent operations: a kick that read this
    /// thread's id incremented `kicksInFlight` before that read, and the read came before the store of 0 here (it
    /// saw the id), so the load of `kicksInFlight` below comes after the increment and sees it until the kick has
    /// finished its `pthread_kill`. A kick that reads 0 signals nobody.
    @inline(__always)
    private func leaveStep() {
        drivingThread.store(0, ordering: .sequentiallyConsistent)
        while kicksInFlight.load(ordering: .sequentiallyConsistent) != 0 { sched_yield() }
    }

    /// Lets the vCPU run again after a kick.
    public func clearKick() {
        ckvm_run_set_immediate_exit(run, 0)
        stopRequested.store(false, ordering: .sequentiallyConsistent)
    }

    /// The exit `kvm_run` holds now, decoded: the last exit, or what a failing `KVM_RUN` left there (a memory fault).
    /// Read it on the thread that drives the vCPU, or after its run: `kvm_run` changes with every `KVM_RUN`.
    package func exitInKVMRun() -> VcpuExit { VcpuExit.decode(run, mapSize: runMapping.size) }
}
