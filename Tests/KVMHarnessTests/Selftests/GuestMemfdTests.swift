import CKVM
import Glibc
import KVMHarnessTesting
import SystemPackage
import TestGuests
import Testing

@testable import KVMHarness

/// A port of Linux's `guest_memfd_test.c` (the 6.12 test, with what 6.18 added for the mmap flags): guest_memfds
/// created with sizes that are not whole pages and with flags KVM does not take are refused with EINVAL; two files
/// keep their own sizes and inodes; read and write are refused; the file's size and block size; fallocate and
/// punching holes, aligned and not; mmap refused (ENODEV) without `GUEST_MEMFD_FLAG_MMAP` and shared-only with it;
/// a second binding of the same file range refused; and a guest that writes through a guest_memfd slot while the host
/// reads and writes the same memory through its mapping.
///
/// Added here: guest_memfd slots through the harness's memslot API (the harness's memory and the ucall address stay
/// protected; a file of another VM, or one the host cannot touch, gives a typed error instead of a fault; the slot
/// changes KVM refuses leave the harness's table as it was), and `KVM_SET_MEMORY_ATTRIBUTES` where KVM offers memory
/// attributes (not on this host: that test skips with "requires KVM_CAP_MEMORY_ATTRIBUTES").
///
/// The C test here is 6.12's, which fails on this 6.18 kernel: it expects every flag to be refused, and 6.18 takes
/// `GUEST_MEMFD_FLAG_MMAP` and `GUEST_MEMFD_FLAG_INIT_SHARED`. This port asks KVM which flags it takes
/// (`KVM_CAP_GUEST_MEMFD_FLAGS`), as 6.18's test does.
@Suite("selftest guest_memfd_test", .requiresKVM, .requires(.guestMemfd))
struct GuestMemfdTests {
    static let page = UInt64(getpagesize())
    static let totalSize = 4 * page
    /// Far above guest RAM and the shared code (which starts at 4 GiB), below every MAXPHYADDR KVM reports.
    static let slotGPA: UInt64 = 1 << 36

    /// Whether KVM lets the host map and touch a guest_memfd of a default VM (Linux 6.18).
    static var hostCanMap: Bool {
        guard let vm = try? VirtualMachine(configuration: .bare) else { return false }
        return vm.supportedGuestMemfdFlags.isSuperset(of: [.mmap, .initShared])
    }
    static let requiresHostMapping = Testing.ConditionTrait.enabled(
        if: hostCanMap,
        Comment(rawValue: "requires KVM_CAP_GUEST_MEMFD_FLAGS with GUEST_MEMFD_FLAG_MMAP and GUEST_MEMFD_FLAG_INIT_SHARED"))

    /// `fallocate(2)` on a guest_memfd: nil on success, else the errno.
    private func fallocate(_ file: GuestMemfd, _ mode: CInt, _ offset: UInt64, _ length: UInt64) -> Errno? {
        do {
            try file.fallocate(mode: mode, offset: offset, length: length)
            return nil
        } catch {
            return error.errno
        }
    }

    /// `mmap(2)` of `length` bytes of a guest_memfd: the mapping, or the errno.
    private func map(_ file: GuestMemfd, _ length: UInt64, flags: CInt = MAP_SHARED, offset: UInt64 = 0)
        -> Result<UnsafeMutableRawPointer, Errno>
    {
        let memory = mmap(nil, Int(length), PROT_READ | PROT_WRITE, flags, file.fileDescriptor, off_t(offset))
        guard let memory, memory != MAP_FAILED else { return .failure(Errno(rawValue: errno)) }
        return .success(memory)
    }

    private func createError(_ vm: VirtualMachine, size: UInt64, flags: UInt64) -> Errno? {
        do {
            _ = try vm.createGuestMemfd(size: size, flags: GuestMemfd.Flags(rawValue: flags))
            return nil
        } catch {
            #expect(error.errno != nil && "\(error)".contains("KVM_CREATE_GUEST_MEMFD"))
            return error.errno
        }
    }

    @Test("sizes that are not whole pages, and every flag KVM does not take, are refused with EINVAL")
    func createInvalid() throws {
        let vm = try VirtualMachine(configuration: .bare)
        for size in [0] + Array(1..<Self.page) + [Self.page + 1] {
            let failure = createError(vm, size: size, flags: 0)
            if failure != .invalidArgument { Issue.record("size \(size): expected EINVAL, got \(String(describing: failure))") }
        }
        let supported = vm.supportedGuestMemfdFlags.rawValue
        for bit in 0..<64 {
            let flag = UInt64(1) << UInt64(bit)
            let failure = createError(vm, size: Self.page, flags: flag)
            #expect(failure == (supported & flag == 0 ? .invalidArgument : nil), "flag \(hex(flag))")
        }
        // Every combination of the flags KVM takes is taken.
        var combination: UInt64 = 0
        repeat {
            #expect(createError(vm, size: Self.page, flags: combination) == nil, "flags \(hex(combination))")
            combination = (combination &- supported) & supported
        } while combination != 0
    }

    @Test("two guest_memfds keep their own sizes and inodes")
    func createMultiple() throws {
        let vm = try VirtualMachine(configuration: .bare)
        let first = try vm.createGuestMemfd(size: Self.page)
        let second = try vm.createGuestMemfd(size: 2 * Self.page)
        var firstStat = stat()
        var secondStat = stat()
        #expect(fstat(first.fileDescriptor, &firstStat) == 0 && fstat(second.fileDescriptor, &secondStat) == 0)
        #expect(firstStat.st_size == off_t(Self.page) && secondStat.st_size == off_t(2 * Self.page))
        #expect(firstStat.st_ino != secondStat.st_ino)
        #expect(first.size == Self.page && second.size == 2 * Self.page)
    }

    @Test("read and write are EINVAL, pread and pwrite ESPIPE; fstat gives the size and a page as block size")
    func fileOperations() throws {
        let vm = try VirtualMachine(configuration: .bare)
        let file = try vm.createGuestMemfd(size: Self.totalSize)
        var buffer = [UInt8](repeating: 0, count: 64)
        let fd = file.fileDescriptor
        #expect(read(fd, &buffer, 64) == -1 && errno == EINVAL)
        #expect(write(fd, buffer, 64) == -1 && errno == EINVAL)
        #expect(pread(fd, &buffer, 64, 0) == -1 && errno == ESPIPE)
        #expect(pwrite(fd, buffer, 64, 0) == -1 && errno == ESPIPE)
        var info = stat()
        #expect(fstat(fd, &info) == 0)
        #expect(info.st_size == off_t(Self.totalSize))
        #expect(info.st_blksize == Int(Self.page))
        #expect(ftruncate(fd, off_t(2 * Self.page)) == -1 && errno == EINVAL, "a guest_memfd's size is fixed")
    }

    @Test("fallocate: whole pages inside the file only; punching holes anywhere page-aligned")
    func fallocateBehaviour() throws {
        let vm = try VirtualMachine(configuration: .bare)
        let file = try vm.createGuestMemfd(size: Self.totalSize)
        let (page, total) = (Self.page, Self.totalSize)
        let keep = FALLOC_FL_KEEP_SIZE
        let punch = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE
        #expect(fallocate(file, keep, 0, total) == nil)
        #expect(fallocate(file, 0, 0, page) == .notSupported, "without FALLOC_FL_KEEP_SIZE")
        #expect(fallocate(file, punch, page - 1, page) == .invalidArgument)
        #expect(fallocate(file, keep, total, page) == .invalidArgument, "allocating from the end")
        #expect(fallocate(file, keep, total + page, page) == .invalidArgument, "allocating past the end")
        #expect(fallocate(file, punch, total, page) == nil, "a hole at the end")
        #expect(fallocate(file, punch, total + page, page) == nil, "a hole past the end")
        #expect(fallocate(file, punch, page, page - 1) == .invalidArgument)
        #expect(fallocate(file, punch, page, page) == nil)
        #expect(fallocate(file, keep, page, page) == nil, "filling the hole again")
        #expect(fallocate(file, FALLOC_FL_KEEP_SIZE | FALLOC_FL_COLLAPSE_RANGE, 0, page) == .notSupported)
    }

    @Test("punching a hole with an offset or length that is not whole pages is EINVAL")
    func invalidPunchHole() throws {
        let vm = try VirtualMachine(configuration: .bare)
        let file = try vm.createGuestMemfd(size: Self.totalSize)
        let page = Self.page
        let cases: [(UInt64, UInt64)] = [
            (0, 1), (0, page - 1), (0, page + 1), (1, 1), (1, page - 1), (1, page), (1, page + 1),
            (page, 1), (page, page - 1), (page, page + 1),
        ]
        for (offset, length) in cases {
            #expect(fallocate(file, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, offset, length) == .invalidArgument,
                    "offset \(hex(offset)), length \(hex(length))")
        }
    }

    @Test("mmap is ENODEV without GUEST_MEMFD_FLAG_MMAP")
    func mmapRefused() throws {
        let vm = try VirtualMachine(configuration: .bare)
        let file = try vm.createGuestMemfd(size: Self.totalSize)
        guard case .failure(let failure) = map(file, Self.page) else {
            Issue.record("mmap of a guest_memfd without GUEST_MEMFD_FLAG_MMAP succeeded")
            return
        }
        #expect(failure == Errno(rawValue: ENODEV))
    }

    @Test("with GUEST_MEMFD_FLAG_MMAP: shared mappings only, and a punched hole reads back zero",
          requiresHostMapping)
    func mmapAllowed() throws {
        let vm = try VirtualMachine(configuration: .bare)
        let file = try vm.createGuestMemfd(size: Self.totalSize, flags: [.mmap, .initShared])
        switch map(file, Self.page, flags: MAP_PRIVATE) {
        case .success(let privateMapping):
            munmap(privateMapping, Int(Self.page))
            Issue.record("a private mapping of a guest_memfd succeeded")
        case .failure(let failure):
            #expect(failure == .invalidArgument)
        }
        let memory = try map(file, Self.totalSize).get()
        defer { munmap(memory, Int(Self.totalSize)) }
        for index in 0..<Int(Self.totalSize / Self.page) {
            memory.storeBytes(of: UInt64(index + 1), toByteOffset: index * Int(Self.page), as: UInt64.self)
        }
        try file.punchHole(offset: Self.page, length: Self.page)
        #expect(memory.load(fromByteOffset: 0, as: UInt64.self) == 1)
        #expect(memory.load(fromByteOffset: Int(Self.page), as: UInt64.self) == 0, "the punched page")
        #expect(memory.load(fromByteOffset: 2 * Int(Self.page), as: UInt64.self) == 3)
    }

    @Test("a second slot over the same guest_memfd range is EINVAL; over the same guest-physical range, EEXIST")
    func bindTwice() throws {
        let vm = try VirtualMachine()
        let file = try vm.createGuestMemfd(size: Self.totalSize)
        try vm.addMemslot(20, gpa: Self.slotGPA, size: 2 * Self.page, backing: .guestMemfd(file))
        #expect(throws: KVMError.ioctlFailed(operation: "KVM_SET_USER_MEMORY_REGION2 (slot 21)", errno: .invalidArgument)) {
            try vm.addMemslot(21, gpa: Self.slotGPA + Self.totalSize, size: Self.page, backing: .guestMemfd(file, offset: Self.page))
        }
        #expect(throws: KVMError.ioctlFailed(operation: "KVM_SET_USER_MEMORY_REGION2 (slot 21)", errno: .fileExists)) {
            try vm.addMemslot(21, gpa: Self.slotGPA, size: Self.page, backing: .guestMemfd(file, offset: 2 * Self.page))
        }
        // The rest of the file binds, and the first range binds again once its slot is gone.
        try vm.addMemslot(21, gpa: Self.slotGPA + Self.totalSize, size: 2 * Self.page,
                          backing: .guestMemfd(file, offset: 2 * Self.page))
        try vm.deleteMemslot(20)
        try vm.addMemslot(20, gpa: Self.slotGPA, size: 2 * Self.page, backing: .guestMemfd(file))
    }

    @Test("KVM refuses to move a guest_memfd slot, change its flags, or make one that logs dirty pages or is read-only; resizing (delete and add) works")
    func slotChanges() throws {
        let vm = try VirtualMachine()
        let file = try vm.createGuestMemfd(size: Self.totalSize)
        let refused = KVMError.ioctlFailed(operation: "KVM_SET_USER_MEMORY_REGION2 (slot 20)", errno: .invalidArgument)
        for flags: MemslotFlags in [.logDirtyPages, .readOnly] {
            #expect(throws: refused, "flags \(flags.rawValue)") {
                try vm.addMemslot(20, gpa: Self.slotGPA, size: Self.page, backing: .guestMemfd(file), flags: flags)
            }
        }
        let slot = try vm.addMemslot(20, gpa: Self.slotGPA, size: 2 * Self.page, backing: .guestMemfd(file))
        #expect(throws: refused) { try vm.moveMemslot(20, to: Self.slotGPA + Self.totalSize) }
        #expect(throws: refused) { try vm.setMemslotFlags(20, .logDirtyPages) }
        #expect(vm.memslots.slot(numbered: 20) == slot, "a refused change leaves the harness's table as KVM has it")
        try vm.resizeMemslot(20, size: Self.page)
        #expect(vm.memslots.slot(numbered: 20)?.size == Self.page)
        // The page the smaller slot gave back can be bound again.
        try vm.addMemslot(21, gpa: Self.slotGPA + Self.totalSize, size: Self.page,
                          backing: .guestMemfd(file, offset: Self.page))
        // Growing slot 20 back over that page: KVM refuses the binding, and the one-page slot is put back.
        #expect(throws: refused) { try vm.resizeMemslot(20, size: 2 * Self.page) }
        #expect(vm.memslots.slot(numbered: 20)?.size == Self.page, "the one-page slot is back")
        #expect(throws: KVMError.ioctlFailed(operation: "KVM_SET_USER_MEMORY_REGION2 (slot 22)", errno: .invalidArgument),
                "KVM has it back too: its page of the file is bound") {
            try vm.addMemslot(22, gpa: Self.slotGPA + 2 * Self.totalSize, size: Self.page, backing: .guestMemfd(file))
        }
    }

    @Test("the guest writes through a guest_memfd slot, the host reads it and writes back, the guest reads the host's",
          requiresHostMapping)
    func guestAndHostShare() throws {
        let vm = try VirtualMachine()
        let pages: UInt64 = 4
        let file = try vm.createGuestMemfd(size: pages * Self.page, flags: [.mmap, .initShared])
        let slot = try vm.addMemslot(gpa: Self.slotGPA, size: pages * Self.page, backing: .guestMemfd(file))
        #expect(slot.isHostAccessible)
        try vm.map(gva: Self.slotGPA, gpa: Self.slotGPA, size: pages * Self.page)
        let vcpu = try vm.addVCPU(entry: GuestFunction(guest_guest_memfd), arguments: [Self.slotGPA, pages, 1])
        let event = try vcpu.step()
        guard case .ucall(.sync(let arguments)) = event, arguments[0] == 1 else {
            Issue.record("expected SYNC(1), got \(event)")
            return
        }
        let memory = try vm.hostMemory(gpa: Self.slotGPA, count: Int(pages * Self.page))
        for index in 0..<pages {
            let offset = Int(index * Self.page)
            #expect(memory.load(fromByteOffset: offset, as: UInt64.self) == GUEST_MEMFD_GUEST_TAG | index)
            memory.storeBytes(of: GUEST_MEMFD_HOST_TAG | index, toByteOffset: offset, as: UInt64.self)
        }
        // The file itself holds the guest's memory: a second mapping of it sees the host's values too.
        let second = try map(file, pages * Self.page).get()
        defer { munmap(second, Int(pages * Self.page)) }
        #expect(second.load(fromByteOffset: Int(Self.page), as: UInt64.self) == GUEST_MEMFD_HOST_TAG | 1)
        #expect(try vcpu.step() == .ucall(.done))
    }

    @Test("a guest_memfd the host cannot map backs a slot with no host view: host reads are refused, not faults")
    func hostCannotMap() throws {
        let vm = try VirtualMachine()
        let file = try vm.createGuestMemfd(size: Self.totalSize)
        let slot = try vm.addMemslot(gpa: Self.slotGPA, size: Self.totalSize, backing: .guestMemfd(file))
        #expect(!slot.isHostAccessible && slot.hostAddress == 0)
        do {
            _ = try vm.hostMemory(gpa: Self.slotGPA, count: 8)
            Issue.record("a host view of a guest_memfd slot the host cannot map")
        } catch {
            guard case .invalidArgument(let message) = error else { throw error }
            #expect(message.contains("memslot \(slot.slot)") && message.contains("guest_memfd"))
        }
        #expect(vm.memslots.read(gpa: Self.slotGPA, into: UnsafeMutableRawPointer.allocate(byteCount: 8, alignment: 8), count: 8) == false)

        // The guest's write: the slot is shared memory (a default VM has no private memory) whose host address is
        // 0, so KVM cannot fault it in and KVM_RUN fails with EFAULT, with or without a memory-fault exit.
        try vm.map(gva: Self.slotGPA, gpa: Self.slotGPA, size: Self.totalSize)
        let vcpu = try vm.addVCPU(entry: GuestFunction(guest_guest_memfd), arguments: [Self.slotGPA, 4, 0])
        let outcome = Result { () throws(KVMError) -> VcpuEvent in try vcpu.step() }
        let efault: Bool
        switch outcome {
        case .failure(.ioctlFailed(operation: "KVM_RUN", errno: .badAddress)): efault = true
        case .success(.exit(.memoryFault(_, let gpa, _))): efault = gpa == Self.slotGPA
        default: efault = false
        }
        // PVM runs the guest's (CPL0) write in KVM's instruction emulator, which finds no host memory at the
        // address and hands the write to userspace as MMIO.
        let pvmMMIO = VcpuEvent.exit(.mmio(MMIOAccess(address: Self.slotGPA, length: 8, isWrite: true, data: GUEST_MEMFD_GUEST_TAG)))
        withKnownIssue("PVM's instruction emulator turns a guest write to a guest_memfd slot without host memory into an MMIO exit instead of EFAULT") {
            #expect(efault, "KVM_RUN: \(outcome)")
        } when: {
            HostDepartures.isPVM && outcome == .success(pvmMMIO)
        }
        try vm.deleteMemslot(slot.slot)
    }

    @Test("a GUEST_MEMFD_FLAG_MMAP file without INIT_SHARED backs a slot with no host view (a host touch is SIGBUS)",
          requiresHostMapping)
    func privateByDefault() throws {
        let vm = try VirtualMachine()
        let file = try vm.createGuestMemfd(size: Self.totalSize, flags: .mmap)
        #expect(!file.isHostAccessible)
        let slot = try vm.addMemslot(gpa: Self.slotGPA, size: Self.totalSize, backing: .guestMemfd(file))
        #expect(!slot.isHostAccessible && slot.hostAddress == 0)
        #expect(throws: KVMError.self) { try vm.hostMemory(gpa: Self.slotGPA, count: 8) }
        try vm.map(gva: Self.slotGPA, gpa: Self.slotGPA, size: Self.totalSize)
        #expect(throws: KVMError.self, "a read by guest-virtual address finds no host memory") {
            try vm.read(UInt64.self, at: Self.slotGPA)
        }
        // What the guest sees here is left out: KVM faults such a slot from the file itself (it is guest_memfd
        // only), while PVM's emulator looks for host memory at the slot's host address and reports MMIO; the
        // kernel's own test runs its guest only on a file made with INIT_SHARED, as guestAndHostShare does.
    }

    @Test("guest_memfd slots cannot cover the harness's RAM or the ucall address, nor use another VM's file")
    func protectedMemory() throws {
        let vm = try VirtualMachine()
        let other = try VirtualMachine(configuration: .bare)
        let file = try vm.createGuestMemfd(size: Self.totalSize)
        #expect(throws: KVMError.protectedGuestMemory(gpa: 0x10_0000, owner: "guest RAM")) {
            try vm.addMemslot(gpa: 0x10_0000, size: Self.page, backing: .guestMemfd(file))
        }
        let ucall = vm.ucallAddress
        #expect(throws: KVMError.protectedGuestMemory(gpa: ucall, owner: "the ucall MMIO address")) {
            try vm.addMemslot(gpa: ucall & ~0xfff, size: Self.page, backing: .guestMemfd(file))
        }
        let foreign = try other.createGuestMemfd(size: Self.page)
        #expect(throws: KVMError.invalidArgument("\(foreign) belongs to another VM: create it with this VM's createGuestMemfd(size:flags:)")) {
            try vm.addMemslot(gpa: Self.slotGPA, size: Self.page, backing: .guestMemfd(foreign))
        }
        #expect(throws: KVMError.self, "larger than the file") {
            try vm.addMemslot(gpa: Self.slotGPA, size: Self.page, backing: .guestMemfd(file, offset: Self.totalSize))
        }
        // The failed attempts left nothing bound: the whole file binds.
        let slot = try vm.addMemslot(gpa: Self.slotGPA, size: Self.totalSize, backing: .guestMemfd(file))
        #expect(throws: KVMError.invalidArgument("memslot \(slot.slot) is backed by a guest_memfd, which binds to one VM only: delete the slot before recreate()")) {
            _ = try vm.recreate()
        }
    }

    @Test("KVM_SET_MEMORY_ATTRIBUTES: the attributes this VM offers are taken; others and unaligned ranges are EINVAL",
          .requires(.memoryAttributes))
    func memoryAttributes() throws {
        // The system file descriptor answers for any VM type; a default VM may offer none (no private memory).
        let vm = try VirtualMachine(configuration: .bare)
        let supported = UInt64(max(0, vm.check(.memoryAttributes)))
        let failure = KVMError.ioctlFailed(operation: "KVM_SET_MEMORY_ATTRIBUTES", errno: .invalidArgument)
        if supported != 0 {
            try vm.setMemoryAttributes(gpa: Self.slotGPA, size: Self.page, attributes: supported)
        }
        try vm.setMemoryAttributes(gpa: Self.slotGPA, size: Self.page, attributes: 0)
        let unsupported = ~supported & (0 &- ~supported)  // the lowest attribute bit this VM does not offer
        #expect(throws: failure) {
            try vm.setMemoryAttributes(gpa: Self.slotGPA, size: Self.page, attributes: unsupported)
        }
        #expect(throws: failure) { try vm.setMemoryAttributes(gpa: Self.slotGPA + 1, size: Self.page, attributes: 0) }
    }
}
