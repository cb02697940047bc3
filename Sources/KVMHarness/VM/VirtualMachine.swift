internal import CKVM
import Glibc
internal import KVMHarnessGuest
internal import KVMHarnessStubs
import SystemPackage

/// What a VM's vCPUs share with it: the VM file descriptor, guest memory and the ucall address.
///
/// A separate object so that vCPUs keep guest memory alive without a reference cycle with the VM.
final class VMState: @unchecked Sendable {
    let fd: FileDescriptor
    // Read by every ucall decode, always with `memslotLock` held for reading; changed only with it held for writing
    // (see Memory/Memslots.swift). Unchecked for the reason given in VCPU: the lock does the excluding.
    @exclusivity(unchecked) var memslots = MemslotTable()
    /// Guards `memslots` and the host memory of the slots in it against a slot change while it is being read.
    let memslotLock = ReadWriteLock()
    var backings: [HostMapping] = []
    /// The host memory of the slots tests added, by slot number (under `memslotLock`, for writing).
    var testSlotBackings: [UInt32: MemslotBackingStorage] = [:]
    /// The dirty ring size in bytes per vCPU (`KVM_CAP_DIRTY_LOG_RING`), 0 when off.
    var dirtyRingBytes = 0
    var ucallAddress: UInt64 = 0
    let physicalAddressBits: Int
    /// The VM's in-kernel interrupt controller (InterruptController.swift).
    var interruptController = InterruptController.none
    /// Whether the VM has an in-kernel interrupt controller (`KVM_CREATE_IRQCHIP`).
    var hasInterruptController = false
    /// The host-call handlers (`HostCalls.swift`); `recreate()` hands them on, before any vCPU of the new VM runs.
    var hostCalls = HostCallTable()

    init(fd: FileDescriptor, physicalAddressBits: Int) {
        self.fd = fd
        self.physicalAddressBits = physicalAddressBits
    }

    deinit { closeQuietly(fd) }
}

/// A KVM virtual machine set up for guest selftests: guest RAM, the harness's page tables, GDT, IDT and exception
/// stubs, the ucall MMIO address, and the vCPUs.
///
/// Guest-physical layout: RAM at 0 (lazily backed, registered with KVM as it is handed out), read-only memslots over
/// the host's code above it, and the ucall MMIO address outside every slot (found by `UcallAddressSearch`).
/// Guest-virtual layout: guest code at the addresses it was linked or loaded at (lower half), the ucall page
/// identity-mapped, the harness's own structures in the reserved top 512 GiB (`KVMH_RESERVED_BASE`).
///
/// Set a VM up (load code, add vCPUs, write globals) before running its vCPUs: the harness's own layout must not
/// change while they run (`allocate`, `map`, `loadCode` and `addVCPU` throw `.vcpuRunning`). Slots a test adds may
/// change at any time (Memory/Memslots.swift; which calls may run beside `run()` is in docs/memory.md).
public final class VirtualMachine: @unchecked Sendable {
    /// How to build a VM.
    public struct Configuration: Sendable {
        /// The default guest RAM: 64 MiB, backed only where the guest touches it.
        public static let defaultMemorySize: UInt64 = 64 << 20

        /// Guest RAM in bytes (whole pages, at least 1 MiB).
        public var memorySize: UInt64
        /// The ucall MMIO address to use instead of searching for one (it must be outside guest memory).
        public var ucallAddress: UInt64?
        /// The KVM device.
        public var devicePath: String
        /// Whether the harness sets the VM up (guest RAM registered with KVM, page tables, GDT, IDT, exception stubs,
        /// the ucall address). Without it the VM is as `KVM_CREATE_VM` leaves it: no memslots, no devices, only
        /// bare vCPUs (`addBareVCPU(id:)`), for tests of KVM's own VM and vCPU set-up (the kernel selftests'
        /// `vm_create_barebones`).
        public var harnessSetUp: Bool
        /// The in-kernel interrupt controller: `.split` (local APICs in the kernel) by default, `.none` in
        /// `.bare`. See `InterruptController`. On arm64 only `.none` exists yet (no vGIC).
        public var interruptController: InterruptController
        /// arm64: the VM's guest-physical (IPA) address size in bits, chosen through the VM type
        /// (`KVM_VM_TYPE_ARM_IPA_SIZE`, up to `KVM_CAP_ARM_VM_IPA_SIZE`); nil for KVM's default, 40 bits. Ignored on
        /// x86-64, where the guest's MAXPHYADDR comes from CPUID.
        public var ipaBits: Int?

        /// The interrupt controller a VM gets unless the test asks: `.split` on x86-64, `.none` on arm64.
        #if arch(x86_64)
        public static let defaultInterruptController = InterruptController.split
        #else
        public static let defaultInterruptController = InterruptController.none
        #endif

        /// A configuration; the defaults suit most tests.
        public init(
            memorySize: UInt64 = Configuration.defaultMemorySize, ucallAddress: UInt64? = nil,
            devicePath: String = KVM.defaultPath, harnessSetUp: Bool = true,
            interruptController: InterruptController = Configuration.defaultInterruptController, ipaBits: Int? = nil
        ) {
            self.ipaBits = ipaBits
            self.interruptController = interruptController
            self.memorySize = memorySize
            self.ucallAddress = ucallAddress
            self.devicePath = devicePath
            self.harnessSetUp = harnessSetUp
        }

        /// A VM without the harness's set-up (`harnessSetUp` false) and without an interrupt controller.
        public static var bare: Configuration { Configuration(harnessSetUp: false, interruptController: .none) }
    }

    /// The KVM handle the VM was created from.
    public let kvm: KVM
    /// The configuration it was built with.
    public let configuration: Configuration
    let state: VMState
    var allocator: PhysicalPageAllocator
    /// The harness's page tables (the vCPUs' initial CR3 is `pageTables.root`).
    public let pageTables: PageTables
    /// The guest's linear-address width (CPUID 0x80000008 as given to the vCPUs).
    public let virtualAddressBits: Int
    /// The vCPUs, in index order.
    public private(set) var vcpus: [VCPU] = []
    /// The host objects whose code is visible in the guest (by the address range of their segments).
    private(set) var loadedRanges: [PageRun] = []
    private var nextSlot: UInt32 = 0
    private var nextSharedGPA: UInt64
    /// Guest RAM's host mapping.
    private let ram: HostMapping
    /// How much of guest RAM, from GPA 0, is registered with KVM.
    private var registeredRAM: UInt64 = 0

    /// The guest RAM registered with KVM when the VM is made; the rest is registered as the harness hands it out.
    static let initialRAMRegistration: UInt64 = 64 << 20

    /// The guest-physical address of the ucall MMIO exit (identity-mapped).
    public var ucallAddress: UInt64 { state.ucallAddress }
    /// The guest's MAXPHYADDR.
    public var physicalAddressBits: Int { state.physicalAddressBits }
    /// The memslots, as they are at the moment of the call.
    public var memslots: MemslotTable { state.memslotLock.reading { state.memslots } }

    /// Creates a VM with guest RAM, the harness's structures and the ucall address, and no vCPUs yet.
    ///
    /// - Parameters:
    ///   - configuration: memory size, ucall address, device.
    ///   - kvm: an open KVM handle; by default the process-wide handle for the device in `configuration`
    ///     (`KVM.shared(path:)`).
    /// - Throws: the newcomer errors of `KVM.init`, `.ioctlFailed("KVM_CREATE_VM")`, `.ucallAddressIsGuestRAM`.
    public init(configuration: Configuration = Configuration(), kvm: KVM? = nil) throws(KVMError) {
        let memorySize = configuration.memorySize
        guard memorySize >= 1 << 20, memorySize & 0xfff == 0, memorySize <= 1 << 40 else {
            throw .invalidArgument(
                "guest memory must be whole pages between 1 MiB and 1 TiB, not \(memorySize) bytes")
        }
        let handle: KVM
        if let kvm { handle = kvm } else { handle = try KVM.shared(path: configuration.devicePath) }
        let kvm = handle
        self.kvm = kvm
        self.configuration = configuration
        #if arch(x86_64)
        let vmFD = FileDescriptor(rawValue: try kvmIoctl(kvm.fd, CKVM_CREATE_VM, 0, "KVM_CREATE_VM"))
        let physicalBits = min(kvm.supportedCPUID.physicalAddressBits, KVM.hostAddressBits.physical)
        virtualAddressBits = kvm.supportedCPUID.virtualAddressBits
        #else
        let (vmType, physicalBits) = try Self.armVMType(ipaBits: configuration.ipaBits, kvm: kvm)
        let vmFD = FileDescriptor(rawValue: try kvmIoctl(kvm.fd, CKVM_CREATE_VM, vmType, "KVM_CREATE_VM"))
        virtualAddressBits = 48
        #endif
        state = VMState(fd: vmFD, physicalAddressBits: physicalBits)
        allocator = PhysicalPageAllocator(start: 0x1000, end: memorySize)
        nextSharedGPA = max(memorySize, 1 << 32).roundedUp(to: 2 << 20)

        pageTables = try PageTables(allocator: &allocator, physicalAddressBits: physicalBits)
        ram = try HostMapping(anonymous: Int(memorySize))
        state.backings.append(ram)
        // No vCPU exists yet, so the table needs no lock.
        state.memslots.setUnregisteredRAM(
            Memslot(
                slot: .max, guestPhysicalAddress: 0, size: memorySize, hostAddress: UInt(bitPattern: ram.base),
                readOnly: false, purpose: "guest RAM (not yet registered with KVM)"))
        try setUpInterruptController(configuration.interruptController)
        guard configuration.harnessSetUp else { return }
        #if arch(arm64)
        try enableNoSyndromeExits()
        #endif
        try registerAllocatedRAM()

        try setUpUcallAddress(requested: configuration.ucallAddress)
        try setUpHarnessRegion()
        try registerAllocatedRAM()
    }

    /// Throws unless the harness set the VM up: a bare VM has no guest RAM, page tables or stubs to work with.
    private func requireHarnessSetUp(_ what: String) throws(KVMError) {
        guard configuration.harnessSetUp else {
            throw .invalidArgument("cannot \(what) in a VM made without the harness's set-up (Configuration.bare): "
                + "make it with the default configuration, or use addBareVCPU(id:)")
        }
    }

    /// A VM over `other`'s memory and harness structures, with `state`'s new VM file descriptor (`recreate()`).
    init(recreating other: VirtualMachine, state: VMState) {
        kvm = other.kvm
        configuration = other.configuration
        self.state = state
        allocator = other.allocator
        pageTables = other.pageTables
        virtualAddressBits = other.virtualAddressBits
        loadedRanges = other.loadedRanges
        nextSlot = other.nextSlot
        nextSharedGPA = other.nextSharedGPA
        ram = other.ram
        registeredRAM = other.registeredRAM
    }

    /// Registers guest RAM with KVM up to what the page allocator has handed out, in slots that double in size.
    ///
    /// KVM's cost of a memslot (its reverse maps, on hosts that use a shadow MMU) grows with the slot, so a VM with
    /// 4 GiB of RAM would take several times as long to make as one with 64 MiB if all of it were registered up
    /// front. Every page the harness maps comes from the allocator, so RAM it never handed out is never needed: the
    /// first 64 MiB are registered when the VM is made, and more as allocations reach past them. Called at the end
    /// of every operation that allocates; the layout must not change while vCPUs run.
    func registerAllocatedRAM() throws(KVMError) {
        let memorySize = configuration.memorySize
        while registeredRAM < memorySize
            && (registeredRAM < Self.initialRAMRegistration || registeredRAM < allocator.next)
        {
            let wanted = max(Self.initialRAMRegistration, registeredRAM * 2, allocator.next.roundedUp(to: 2 << 20))
            let end = min(memorySize, wanted)
            // SAFETY: [registeredRAM, end) lies inside the guest RAM mapping, which the VM keeps for its lifetime.
            try addMemslot(
                gpa: registeredRAM, size: end - registeredRAM, host: ram.base + Int(registeredRAM), readOnly: false,
                purpose: "guest RAM")
            registeredRAM = end
            let unregistered = end < memorySize
                    ? Memslot(
                        slot: .max, guestPhysicalAddress: end, size: memorySize - end,
                        hostAddress: UInt(bitPattern: ram.base) + UInt(end), readOnly: false,
                        purpose: "guest RAM (not yet registered with KVM)")
                    : nil
            state.memslotLock.writing { state.memslots.setUnregisteredRAM(unregistered) }
        }
    }

    /// Creates a VM running C code compiled into this process: loads the object that contains `entry` and adds
    /// `vcpus` vCPUs starting there with `arguments` in RDI, RSI, ...
    public convenience init(
        entry: GuestFunction, vcpus: Int = 1, arguments: [UInt64] = [], configuration: Configuration = Configuration(),
        kvm: KVM? = nil
    ) throws(KVMError) {
        try self.init(configuration: configuration, kvm: kvm)
        guard vcpus >= 1 else { throw .invalidArgument("a VM needs at least one vCPU, not \(vcpus)") }
        for _ in 0..<vcpus { try addVCPU(entry: entry, arguments: arguments) }
    }

    /// Creates a VM running in-process C code on `vcpus` vCPUs, each with its own entry arguments: `arguments(i)`
    /// for vCPU `i` (for example `{ [UInt64($0)] }` to give each vCPU its index).
    public convenience init(
        entry: GuestFunction, vcpus: Int, configuration: Configuration = Configuration(), kvm: KVM? = nil,
        arguments: (_ vcpu: Int) -> [UInt64]
    ) throws(KVMError) {
        try self.init(configuration: configuration, kvm: kvm)
        guard vcpus >= 1 else { throw .invalidArgument("a VM needs at least one vCPU, not \(vcpus)") }
        for index in 0..<vcpus { try addVCPU(entry: entry, arguments: arguments(index)) }
    }

    // MARK: - Memory

    /// Registers host memory as guest-physical memory (`KVM_SET_USER_MEMORY_REGION`).
    private func addMemslot(gpa: UInt64, size: UInt64, host: UnsafeMutableRawPointer, readOnly: Bool, purpose: String)
        throws(KVMError)
    {
        if state.ucallAddress != 0 && gpa <= state.ucallAddress && state.ucallAddress - gpa < size {
            throw .invalidArgument("memslot at \(hex(gpa)) would cover the ucall MMIO address \(hex(state.ucallAddress))")
        }
        try state.memslotLock.writing { () throws(KVMError) in
            // The lowest number no slot uses: tests choose slot numbers of their own (Memory/Memslots.swift).
            var number: UInt32 = 0
            while state.memslots.slot(numbered: number) != nil { number += 1 }
            var region = kvm_userspace_memory_region()
            region.slot = number
            region.flags = readOnly ? UInt32(KVM_MEM_READONLY) : 0
            region.guest_phys_addr = gpa
            region.memory_size = size
            region.userspace_addr = UInt64(UInt(bitPattern: host))
            try kvmIoctl(state.fd, CKVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION")
            state.memslots.insert(
                Memslot(
                    slot: number, guestPhysicalAddress: gpa, size: size, hostAddress: UInt(bitPattern: host),
                    readOnly: readOnly, purpose: purpose))
            nextSlot = max(nextSlot, number + 1)
        }
    }

    /// Allocates `size` bytes of guest RAM (whole pages, zeroed) and maps them at `gva`.
    ///
    /// - Returns: the guest-physical address of the first page.
    /// - Throws: `.guestAddressInUse` if any page is already mapped, `.outOfGuestMemory`.
    @discardableResult
    public func allocate(gva: UInt64, size: UInt64, writable: Bool = true, executable: Bool = false)
        throws(KVMError) -> UInt64
    {
        try requireHarnessSetUp("allocate guest memory")
        try requireNoVCPURunning("allocate guest memory")
        let gpa = try allocator.allocate(size)
        var flags: PageTableFlags = writable ? [.writable] : []
        if !executable { flags.insert(.noExecute) }
        try pageTables.map(
            gva: gva.roundedDown(to: 4096), gpa: gpa, size: size.roundedUp(to: 4096), flags: flags,
            memory: memslots, allocator: &allocator)
        try registerAllocatedRAM()
        return gpa
    }

    /// Maps `size` bytes (whole pages) at `gva` to the guest-physical range at `gpa`, which need not be guest RAM:
    /// an address no memslot backs makes every access an MMIO exit (the kernel selftests' `virt_map`).
    ///
    /// - Throws: `.guestAddressInUse` if any page is already mapped, `.invalidArgument` for an unaligned or
    ///   non-canonical address.
    public func map(gva: UInt64, gpa: UInt64, size: UInt64, writable: Bool = true, executable: Bool = false)
        throws(KVMError)
    {
        try requireHarnessSetUp("map guest memory")
        try requireNoVCPURunning("map guest memory")
        var flags: PageTableFlags = writable ? [.writable] : []
        if !executable { flags.insert(.noExecute) }
        try pageTables.map(
            gva: gva, gpa: gpa, size: size.roundedUp(to: 4096), flags: flags, memory: memslots,
            allocator: &allocator)
        try registerAllocatedRAM()
    }

    /// Guest-virtual memory through the harness's page tables.
    private var virtualMemory: GuestVirtualMemory<MemslotTable> {
        GuestVirtualMemory(memory: state.memslots, cr3: pageTables.root, physicalAddressBits: physicalAddressBits)
    }

    /// Where `gva` lands in guest-physical memory under the harness's page tables.
    public func translate(_ gva: UInt64) -> Translation {
        state.memslotLock.reading { pageTables.translate(gva, memory: state.memslots) }
    }

    /// Copies `count` bytes at guest-virtual `gva` into `destination`.
    ///
    /// - Throws: `.unmappedGuestAddress` or `.guestAddressOutsideMemory`.
    public func read(gva: UInt64, into destination: UnsafeMutableRawPointer, count: Int) throws(KVMError) {
        switch state.memslotLock.reading({ virtualMemory.read(gva: gva, into: destination, count: count) }) {
        case nil: return
        case .unmapped(let address): throw .unmappedGuestAddress(gva: address)
        case .outsideMemory(let address, let gpa): throw .guestAddressOutsideMemory(gva: address, gpa: gpa)
        case .invalidPageTables(let address, let problem): throw .invalidPageTables(gva: address, problem)
        // A supervisor read through the harness's tables: never refused for U/S or R/W.
        case .supervisorOnly(let address), .readOnly(let address): throw .unmappedGuestAddress(gva: address)
        }
    }

    /// Copies `count` bytes from `source` to guest-virtual `gva`, page by page.
    ///
    /// - Throws: `.unmappedGuestAddress`, or `.guestAddressOutsideMemory` (also for read-only shared code pages).
    public func write(gva: UInt64, from source: UnsafeRawPointer, count: Int) throws(KVMError) {
        var done = 0
        while done < count {
            let address = gva + UInt64(done)
            let chunk = min(count - done, 4096 - Int(address & 0xfff))
            let written = state.memslotLock.reading { () -> Translation? in
                let translation = pageTables.translate(address, memory: state.memslots)
                guard case .mapped(let gpa, _, _, _) = translation else { return translation }
                return state.memslots.write(gpa: gpa, from: source + done, count: chunk) ? nil : translation
            }
            guard let written else {
                done += chunk
                continue
            }
            guard case .mapped(let gpa, _, _, _) = written else { throw .unmappedGuestAddress(gva: address) }
            throw .guestAddressOutsideMemory(gva: address, gpa: gpa)
        }
    }

    /// Reads a value of a trivial type at guest-virtual `gva`.
    public func read<T: BitwiseCopyable>(_ type: T.Type, at gva: UInt64) throws(KVMError) -> T {
        // The failure leaves the closure as a value, as in write(contentsOf:): withUnsafeTemporaryAllocation's closure
        // is not typed-throws in every standard library the package builds against (Debian's arm64 one).
        var failure: KVMError?
        let value = withUnsafeTemporaryAllocation(of: T.self, capacity: 1) { buffer -> T? in
            do throws(KVMError) {
                try read(gva: gva, into: buffer.baseAddress!, count: MemoryLayout<T>.size)
                // SAFETY: `read` filled all MemoryLayout<T>.size bytes; any bytes are a valid T (BitwiseCopyable).
                return buffer[0]
            } catch {
                failure = error
                return nil
            }
        }
        guard let value else { throw failure! }
        return value
    }

    /// Writes a value of a trivial type at guest-virtual `gva`.
    public func write<T: BitwiseCopyable>(_ value: T, at gva: UInt64) throws(KVMError) {
        var copy = value
        // SAFETY: the closure reads the local copy's bytes only while it is alive.
        try withUnsafeBytes(of: &copy) { (bytes) throws(KVMError) in
            try write(gva: gva, from: bytes.baseAddress!, count: bytes.count)
        }
    }

    /// Writes the elements of an array of a trivial type at guest-virtual `gva`.
    public func write<T: BitwiseCopyable>(contentsOf array: [T], at gva: UInt64) throws(KVMError) {
        // SAFETY: the array's contiguous storage is read only inside the closure.
        let failure: KVMError? = array.withUnsafeBytes { bytes in
            do throws(KVMError) {
                try write(gva: gva, from: bytes.baseAddress!, count: bytes.count)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    /// Copies a host global (a C global of the guest code) into the guest's copy of it, which lives at the same
    /// address. Each VM has private copies of the writable globals, taken when the code was loaded; use this to
    /// change one afterwards (the kernel selftests' `sync_global_to_guest`).
    public func syncToGuest<T: BitwiseCopyable>(_ global: UnsafeMutablePointer<T>) throws(KVMError) {
        // SAFETY: `global` points to a live host value of type T (the caller's global); only its bytes are copied.
        try write(global.pointee, at: UInt64(UInt(bitPattern: global)))
    }

    /// Copies the guest's copy of a global back into the host's (`sync_global_from_guest`).
    public func syncFromGuest<T: BitwiseCopyable>(_ global: UnsafeMutablePointer<T>) throws(KVMError) {
        // SAFETY: as in syncToGuest; T is BitwiseCopyable, so any bytes the guest left are a valid T.
        global.pointee = try read(T.self, at: UInt64(UInt(bitPattern: global)))
    }

    // MARK: - Code

    /// Makes the C code, constants and globals of the host object containing `address` visible in the guest at
    /// their host addresses: read-only pages are shared through read-only memslots, writable pages copied (see
    /// `CodeLayout`). Does nothing if that object is already loaded.
    ///
    /// - Throws: `.notInGuestImage` if no loaded object contains `address`.
    public func loadCode(containing address: UInt64) throws(KVMError) {
        try requireHarnessSetUp("load guest code")
        if isLoaded(address) { return }
        guard let image = InProcessImage.containing(address) else { throw .notInGuestImage(hostAddress: address) }
        let runs = CodeLayout.plan(image.segments)
        for run in runs {
            switch run.placement {
            case .sharedReadOnly:
                // Keep the guest-physical address congruent with the host address modulo 2 MiB, so KVM can use
                // large pages where the host has them.
                let gpa = nextSharedGPA.roundedUp(to: 2 << 20) + (run.address & ((2 << 20) - 1))
                nextSharedGPA = gpa + run.size
                // SAFETY: the run lies inside PT_LOAD segments of a loaded object, which stay mapped for the life
                // of the process; the memslot is read-only, so the guest cannot write them.
                try addMemslot(
                    gpa: gpa, size: run.size, host: UnsafeMutableRawPointer(bitPattern: UInt(run.address))!,
                    readOnly: true, purpose: "host code (read-only)")
                try pageTables.map(
                    gva: run.address, gpa: gpa, size: run.size, flags: run.executable ? [] : [.noExecute],
                    memory: memslots, allocator: &allocator)
            case .copied:
                let gpa = try allocate(gva: run.address, size: run.size, writable: true, executable: run.executable)
                guard let destination = memslots.mutablePointer(gpa: gpa, count: Int(run.size)) else {
                    throw .guestAddressOutsideMemory(gva: run.address, gpa: gpa)
                }
                // SAFETY: the source run lies inside writable PT_LOAD segments (mapped, readable), the destination
                // inside guest RAM just allocated for it.
                destination.copyMemory(from: UnsafeRawPointer(bitPattern: UInt(run.address))!, byteCount: Int(run.size))
            }
        }
        loadedRanges += runs
        try registerAllocatedRAM()
        publishUcallAddressToGuestRuntime()
    }

    /// Whether `address` is inside code or data already loaded from the host.
    public func isLoaded(_ address: UInt64) -> Bool {
        loadedRanges.contains { address >= $0.address && address - $0.address < $0.size }
    }

    /// Writes the ucall address into the guest's copy of the guest runtime's `ucall_exit_mmio_addr`, if the object
    /// that holds it is loaded.
    private func publishUcallAddressToGuestRuntime() {
        let global = UInt64(UInt(bitPattern: ucall_exit_mmio_addr_location()))
        if isLoaded(global) { try? write(state.ucallAddress, at: global) }
    }

    // MARK: - Harness structures

    private func setUpUcallAddress(requested: UInt64?) throws(KVMError) {
        let memslots = self.memslots
        let isBacked = { (gpa: UInt64) in memslots.overlaps(gpa: gpa, size: 8) }
        let gpa: UInt64
        if let requested {
            gpa = try UcallAddressSearch.validate(
                requested, physicalAddressBits: physicalAddressBits, virtualAddressBits: virtualAddressBits,
                isBacked: isBacked)
        } else {
            gpa = try UcallAddressSearch.find(
                physicalAddressBits: physicalAddressBits, virtualAddressBits: virtualAddressBits, isBacked: isBacked)
        }
        // Identity-map the page: writable (the ucall is a store), never executable; device memory on arm64.
        #if arch(arm64)
        try pageTables.map(
            gva: gpa.roundedDown(to: 4096), gpa: gpa.roundedDown(to: 4096), flags: [.writable, .noExecute],
            memoryType: .device, memory: memslots, allocator: &allocator)
        #else
        try pageTables.map(
            gva: gpa.roundedDown(to: 4096), gpa: gpa.roundedDown(to: 4096), flags: [.writable, .noExecute],
            memory: memslots, allocator: &allocator)
        #endif
        state.ucallAddress = gpa
    }

    private func setUpHarnessRegion() throws(KVMError) {
        // The stubs: copied from this binary, where they are assembled but never run.
        let start = UInt(bitPattern: kvmh_stubs_start_address())
        let size = UInt64(UInt(bitPattern: kvmh_stubs_end_address()) - start)
        try allocate(gva: UInt64(KVMH_STUBS_GVA), size: size, writable: false, executable: true)
        // SAFETY: [start, start + size) is the stub code assembled into this binary (kvmh_stubs_start to _end).
        try write(gva: UInt64(KVMH_STUBS_GVA), from: UnsafeRawPointer(bitPattern: start)!, count: Int(size))

        try allocate(gva: UInt64(KVMH_DATA_GVA), size: 4096)
        try write(state.ucallAddress, at: UInt64(KVMH_DATA_GVA) + UInt64(KVMH_DATA_UCALL_GPA))

        #if arch(x86_64)
        let idt = LongMode.idt()
        try allocate(gva: UInt64(KVMH_IDT_GVA), size: 4096, writable: false)
        try write(contentsOf: idt, at: UInt64(KVMH_IDT_GVA))
        #endif
    }

    /// Where a guest entry function returns to: the stub that reports an ABORT saying so.
    static var entryReturnedAddress: UInt64 {
        UInt64(KVMH_STUBS_GVA)
            + UInt64(UInt(bitPattern: kvmh_stub_entry_returned_address()) - UInt(bitPattern: kvmh_stubs_start_address()))
    }

    // MARK: - vCPUs

    /// Adds a vCPU that starts at `entry` with `arguments` in RDI, RSI, RDX, RCX, R8, R9, loading the host code
    /// around `entry` first if it is in-process code that is not loaded yet.
    @discardableResult
    public func addVCPU(entry: GuestFunction, arguments: [UInt64] = []) throws(KVMError) -> VCPU {
        if !isLoaded(entry.address), InProcessImage.containing(entry.address) != nil {
            try loadCode(containing: entry.address)
        }
        return try addVCPU(entryAddress: entry.address, arguments: arguments)
    }

    /// Creates a vCPU with id `id` and leaves it as KVM makes it: in its reset state (real mode at the reset
    /// vector, no CPUID set), without the harness's set-up, and outside `vcpus`, so `run()` does not drive it.
    /// For tests of vCPU creation itself (ids up to `KVM_CAP_MAX_VCPU_ID`, `KVM_CAP_MAX_VCPUS` of them) and of
    /// the reset state.
    ///
    /// The id goes to KVM as it is, even above 32 bits, so that a test can check what KVM refuses.
    ///
    /// - Throws: `.ioctlFailed("KVM_CREATE_VCPU")` with KVM's errno (EINVAL for an id at or above
    ///   `KVM_CAP_MAX_VCPU_ID` or with bits 63:32 set, EEXIST for an id in use).
    public func addBareVCPU(id: Int) throws(KVMError) -> VCPU {
        guard id >= 0 else { throw .invalidArgument("a vCPU id is not negative, not \(id)") }
        let vcpuFD = FileDescriptor(rawValue: try kvmIoctl(state.fd, CKVM_CREATE_VCPU, UInt(id), "KVM_CREATE_VCPU"))
        return try VCPU(index: id, fd: vcpuFD, mmapSize: kvm.vcpuMmapSize, state: state)
    }

    /// Chooses which vCPU id is the bootstrap processor (`KVM_SET_BOOT_CPU_ID`, with `KVM_CAP_SET_BOOT_CPU_ID`);
    /// allowed only before the first vCPU is created.
    ///
    /// - Throws: `.ioctlFailed("KVM_SET_BOOT_CPU_ID")` with KVM's errno (EBUSY once vCPUs exist, EINVAL for an id
    ///   above the VM's `KVM_CAP_MAX_VCPU_ID`).
    #if arch(x86_64)
    public func setBootVCPU(id: Int) throws(KVMError) {
        guard id >= 0 else { throw .invalidArgument("a vCPU id is not negative, not \(id)") }
        _ = try kvmIoctl(state.fd, CKVM_SET_BOOT_CPU_ID, UInt(id), "KVM_SET_BOOT_CPU_ID")
    }
    #endif

    /// Adds a vCPU that starts at guest-virtual `entryAddress` in 64-bit mode at CPL0, interrupts off, with its own
    /// GDT, TSS, exception stack and 128 KiB stack (RSP 8 modulo 16, as after a call, with the entry-returned stub
    /// as return address), and `arguments` in RDI, RSI, RDX, RCX, R8, R9. The x86-64 set-up is in
    /// `X86/LongModeVCPU.swift`.
    @discardableResult
    public func addVCPU(entryAddress: UInt64, arguments: [UInt64] = []) throws(KVMError) -> VCPU {
        try requireHarnessSetUp("add a long-mode vCPU")
        guard arguments.count <= 6 else { throw .invalidArgument("at most 6 entry arguments, not \(arguments.count)") }
        let index = vcpus.count
        let maxVCPUs = Int(kvm.check(.maxVCPUs))
        guard maxVCPUs == 0 || index < maxVCPUs else {
            throw .invalidArgument("this host's KVM allows at most \(maxVCPUs) vCPUs per VM")
        }
        #if arch(x86_64)
        let block = try allocateLongModeBlock(index: index)
        #else
        let block = try allocateEL1Block(index: index)
        #endif
        let vcpuFD = FileDescriptor(
            rawValue: try kvmIoctl(state.fd, CKVM_CREATE_VCPU, UInt(index), "KVM_CREATE_VCPU"))
        let vcpu = try VCPU(index: index, fd: vcpuFD, mmapSize: kvm.vcpuMmapSize, state: state)
        #if arch(x86_64)
        try enterLongMode(vcpu, block: block, entryAddress: entryAddress, arguments: arguments)
        #else
        try enterEL1(vcpu, block: block, entryAddress: entryAddress, arguments: arguments)
        #endif
        vcpus.append(vcpu)
        try registerAllocatedRAM()
        return vcpu
    }
}
