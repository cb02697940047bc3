internal import CKVM
import Glibc
import SystemPackage

/// The flags of a memslot (`struct kvm_userspace_memory_region.flags`).
public struct MemslotFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `KVM_MEM_LOG_DIRTY_PAGES`: KVM records the pages the guest writes (see `dirtyLog(slot:)`).
    public static let logDirtyPages = MemslotFlags(rawValue: UInt32(KVM_MEM_LOG_DIRTY_PAGES))
    /// `KVM_MEM_READONLY`: guest writes exit to the host as MMIO (needs `KVM_CAP_READONLY_MEM`).
    public static let readOnly = MemslotFlags(rawValue: UInt32(KVM_MEM_READONLY))
}

/// The host memory behind a memslot the test adds.
public enum MemoryBacking: Sendable, Equatable {
    /// Private anonymous memory, backed on first touch (the kernel selftests' `VM_MEM_SRC_ANONYMOUS`).
    case anonymous
    /// Private anonymous memory aligned to 2 MiB with `MADV_HUGEPAGE`, so the host may back it with transparent
    /// huge pages (`VM_MEM_SRC_ANONYMOUS_THP`).
    case transparentHugePages
    /// Shared memory from `memfd_create` (`VM_MEM_SRC_SHMEM`): a second mapping of it sees the guest's writes.
    case sharedMemory
    /// hugetlbfs 2 MiB pages from `memfd_create(MFD_HUGETLB | MFD_HUGE_2MB)` (`VM_MEM_SRC_ANONYMOUS_HUGETLB_2MB`).
    /// Needs that many free huge pages on the host (`/proc/meminfo` HugePages_Free): see `hugeTLBShortfall(bytes:)`.
    case hugeTLB2MiB
    /// Host memory the test mapped itself (for userfaultfd, or to share it with something else): `address` is page
    /// aligned, at least the slot's size long, and the test keeps it mapped until the slot is deleted.
    case host(address: UInt)
    /// Bytes [offset, offset + size) of a guest_memfd of this VM (`KVM_SET_USER_MEMORY_REGION2` with
    /// `KVM_MEM_GUEST_MEMFD`; needs `KVM_CAP_GUEST_MEMFD`). Where the guest_memfd is host accessible (made with
    /// `.mmap` and `.initShared`) the slot's host memory is a shared mapping of it, so `hostMemory(gpa:count:)` and
    /// the ucall decoder see what the guest writes; otherwise only the guest sees the memory and host views of the
    /// slot throw `.invalidArgument`.
    case guestMemfd(GuestMemfd, offset: UInt64 = 0)

    /// Why `bytes` of `.hugeTLB2MiB` backing cannot be had on this host ("requires ..."), or nil if they can.
    public static func hugeTLBShortfall(bytes: UInt64) -> String? {
        guard let contents = try? readFile(atPath: "/proc/meminfo", limit: 1 << 20) else {
            return "requires /proc/meminfo to count free 2 MiB huge pages"
        }
        let meminfo = String(decoding: contents, as: UTF8.self)
        var free: UInt64 = 0
        var size: UInt64 = 0
        for line in meminfo.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == ":" })
            if fields.first == "HugePages_Free", fields.count > 1 { free = UInt64(fields[1]) ?? 0 }
            if fields.first == "Hugepagesize", fields.count > 1 { size = (UInt64(fields[1]) ?? 0) * 1024 }
        }
        let needed = bytes.roundedUp(to: 2 << 20) / (2 << 20)
        if size != 2 << 20 {
            return "requires 2 MiB hugetlbfs pages (this host's default huge page is \(size >> 10) KiB)"
        }
        if free < needed {
            return "requires \(needed) free 2 MiB hugetlbfs pages (HugePages_Free is \(free); "
                + "echo N > /proc/sys/vm/nr_hugepages)"
        }
        return nil
    }
}

/// The host memory of one memslot a test added: a mapping the VM owns (unmapped once the slot is gone and no
/// reader can still be using it) or the test's own memory.
final class MemslotBackingStorage: @unchecked Sendable {
    // Sendable: every field is set once in init; the memory itself is guest memory (see HostMapping).
    /// The mapping to unmap when the storage goes away; nil for the test's own memory.
    let mapping: HostMapping?
    /// The first byte the slot uses (inside `mapping`, aligned as the backing needs); nil for a guest_memfd the
    /// host cannot touch.
    let base: UnsafeMutableRawPointer?
    /// How many bytes from `base` the slot may use.
    let size: UInt64
    /// The backing it was made from.
    let backing: MemoryBacking

    /// The guest_memfd and offset the slot is bound to, for `KVM_SET_USER_MEMORY_REGION2`; nil for other backings.
    var guestMemfd: (file: GuestMemfd, offset: UInt64)? {
        if case .guestMemfd(let file, let offset) = backing { return (file, offset) }
        return nil
    }

    private init(mapping: HostMapping?, base: UnsafeMutableRawPointer?, size: UInt64, backing: MemoryBacking) {
        self.mapping = mapping
        self.base = base
        self.size = size
        self.backing = backing
    }

    /// Maps `size` bytes of `backing`.
    static func make(_ backing: MemoryBacking, size: UInt64) throws(KVMError) -> MemslotBackingStorage {
        let length = Int(size)
        switch backing {
        case .anonymous:
            let mapping = try HostMapping(anonymous: length)
            return MemslotBackingStorage(mapping: mapping, base: mapping.base, size: size, backing: backing)
        case .transparentHugePages:
            let huge = 2 << 20
            let mapping = try HostMapping(anonymous: length + huge)
            let aligned = UInt(UInt64(UInt(bitPattern: mapping.base)).roundedUp(to: UInt64(huge)))
            // SAFETY: `aligned` is inside the mapping, which has 2 MiB to spare for the rounding.
            let base = UnsafeMutableRawPointer(bitPattern: aligned)!
            _ = madvise(base, length, MADV_HUGEPAGE)  // advice: a host without THP ignores it
            return MemslotBackingStorage(mapping: mapping, base: base, size: size, backing: backing)
        case .sharedMemory, .hugeTLB2MiB:
            let huge = backing == .hugeTLB2MiB
            if huge, let shortfall = MemoryBacking.hugeTLBShortfall(bytes: size) {
                throw .invalidArgument("can't back a memslot with 2 MiB huge pages: \(shortfall)")
            }
            // MFD_CLOEXEC is 1, MFD_HUGETLB 4, MFD_HUGE_2MB 21 << MFD_HUGE_SHIFT (26) (<linux/memfd.h>).
            let flags: UInt32 = 1 | (huge ? 4 | (21 << 26) : 0)
            let fd = ckvm_memfd_create(huge ? "kvmharness-hugetlb" : "kvmharness-shmem", flags)
            guard fd >= 0 else {
                throw .systemCallFailed(operation: "memfd_create(memslot backing)", errno: Errno(rawValue: errno))
            }
            defer { _ = system_close(fd) }
            guard ftruncate(fd, off_t(length)) == 0 else {
                throw .systemCallFailed(operation: "ftruncate(memfd, \(length))", errno: Errno(rawValue: errno))
            }
            guard let base = system_mmap(size: length, protection: PROT_READ | PROT_WRITE, fd: fd, offset: 0) else {
                throw .systemCallFailed(operation: "mmap(memfd, \(length) bytes)", errno: Errno(rawValue: errno))
            }
            return MemslotBackingStorage(
                mapping: HostMapping(adopting: base, size: length), base: base, size: size, backing: backing)
        case .host(let address):
            guard address != 0, address & 0xfff == 0, let base = UnsafeMutableRawPointer(bitPattern: address) else {
                throw .invalidArgument("host memory for a memslot must be page aligned and not null, not \(hex(UInt64(address)))")
            }
            return MemslotBackingStorage(mapping: nil, base: base, size: size, backing: backing)
        case .guestMemfd(let file, let offset):
            guard offset & 0xfff == 0, offset <= file.size, size <= file.size - offset else {
                throw .invalidArgument("a guest_memfd slot is whole pages inside the file: \(size) bytes at offset "
                    + "\(hex(offset)) do not fit \(file)")
            }
            // A guest_memfd without .mmap cannot be mapped, and one without .initShared raises SIGBUS when the host
            // touches it: the slot then has no host memory, and every host view of it is refused.
            guard file.isHostAccessible else {
                return MemslotBackingStorage(mapping: nil, base: nil, size: size, backing: backing)
            }
            guard let base = system_mmap(
                size: length, protection: PROT_READ | PROT_WRITE, fd: file.fileDescriptor, offset: Int(offset))
            else {
                throw .systemCallFailed(operation: "mmap(\(file), \(length) bytes)", errno: Errno(rawValue: errno))
            }
            return MemslotBackingStorage(
                mapping: HostMapping(adopting: base, size: length), base: base, size: size, backing: backing)
        }
    }
}

// MARK: - Adding, deleting, moving and changing slots

/// Memslots a test adds, deletes, moves, resizes and flags.
///
/// **Concurrency.** These calls may run on any thread while vCPUs run (`step()`, `run()`), as the kernel's
/// stress tests do: KVM allows slot changes under running vCPUs (a vCPU that touches a slot mid-change sees MMIO).
/// The ucall decoder never reads a slot's memory after the slot is gone: every decode, and every host read or
/// write of guest memory through the VM, holds the VM's memslot lock for reading for as long as it touches slot
/// memory; every change to the slot table holds it for writing, and a deleted slot's mapping is unmapped only after
/// the write lock is released, when no reader can still hold a pointer into it. A decode that starts after the
/// deletion finds no slot and reports the ucall as malformed (`pointerOutsideMemory`), never reads freed memory.
/// Calls that change the harness's own layout (`allocate`, `map`, `loadCode`, `addVCPU`) throw `.vcpuRunning`
/// while any vCPU is inside `step()`.
extension VirtualMachine {
    /// Adds a memslot of `size` bytes at guest-physical `gpa` (`KVM_SET_USER_MEMORY_REGION`), backed by `backing`.
    ///
    /// The slot is not mapped in the harness's page tables: map it with `map(gva:gpa:size:)` before the guest uses
    /// it by virtual address.
    ///
    /// - Parameters:
    ///   - number: the slot number, or nil for the lowest free one.
    ///   - gpa: where the slot starts in guest-physical memory (page-aligned; 2 MiB-aligned for hugetlbfs).
    ///   - size: its length in bytes, whole pages of the backing.
    ///   - backing: the host memory behind it (a guest_memfd's must belong to this VM).
    ///   - flags: `KVM_MEM_LOG_DIRTY_PAGES` and `KVM_MEM_READONLY`, as `MemslotFlags`.
    ///   - purpose: what the slot is for, named in errors and in `memslots`.
    /// - Throws: `.protectedGuestMemory` if the range covers the harness's RAM, shared code or the ucall address;
    ///   `.invalidArgument` for an unaligned range, a slot number in use, or a guest_memfd of another VM or too small;
    ///   `.ioctlFailed` with KVM's errno.
    @discardableResult
    public func addMemslot(
        _ number: UInt32? = nil, gpa: UInt64, size: UInt64, backing: MemoryBacking = .anonymous,
        flags: MemslotFlags = [], purpose: String = "test memory"
    ) throws(KVMError) -> Memslot {
        let alignment: UInt64 = backing == .hugeTLB2MiB ? 2 << 20 : 4096
        guard size > 0, size % alignment == 0, gpa % alignment == 0 else {
            throw .invalidArgument(
                "a memslot is whole \(alignment >> 10) KiB pages at an aligned address, not \(size) bytes at \(hex(gpa))")
        }
        if case .guestMemfd(let file, _) = backing, file.vmFD != state.fd.rawValue {
            throw .invalidArgument("\(file) belongs to another VM: create it with this VM's createGuestMemfd(size:flags:)")
        }
        let storage = try MemslotBackingStorage.make(backing, size: size)
        return try state.memslotLock.writing { () throws(KVMError) -> Memslot in
            try checkUnprotected(gpa: gpa, size: size)
            let chosen: UInt32
            if let number {
                if let existing = state.memslots.slot(numbered: number) {
                    throw .invalidArgument("memslot \(number) is in use (\(existing.purpose) at \(hex(existing.guestPhysicalAddress)))")
                }
                chosen = number
            } else {
                var free: UInt32 = 0
                while state.memslots.slot(numbered: free) != nil { free += 1 }
                chosen = free
            }
            let slot = Memslot(
                slot: chosen, guestPhysicalAddress: gpa, size: size, hostAddress: UInt(bitPattern: storage.base),
                readOnly: flags.contains(.readOnly), purpose: purpose, logsDirtyPages: flags.contains(.logDirtyPages),
                isHarnessMemory: false, isHostAccessible: storage.base != nil)
            try setRegion(slot, backing: storage)
            state.memslots.insert(slot)
            state.testSlotBackings[chosen] = storage
            return slot
        }
    }

    /// Deletes a slot the test added (`KVM_SET_USER_MEMORY_REGION` with size 0). When this returns, neither KVM nor
    /// the harness uses its memory any more; memory the VM mapped for it is unmapped.
    ///
    /// - Throws: `.protectedGuestMemory` for one of the harness's slots, `.invalidArgument` for no such slot.
    public func deleteMemslot(_ number: UInt32) throws(KVMError) {
        // Declared out here so that the mapping is unmapped after the write lock is released (see the type's note).
        var released: MemslotBackingStorage?
        try state.memslotLock.writing { () throws(KVMError) in
            var slot = try testSlot(number)
            slot.size = 0
            try setRegion(slot)
            _ = state.memslots.remove(slot: number)
            released = state.testSlotBackings.removeValue(forKey: number)
        }
        withExtendedLifetime(released) {}
        released = nil
    }

    /// Moves a slot the test added to guest-physical `gpa`, with the same host memory (KVM's `KVM_MR_MOVE`).
    public func moveMemslot(_ number: UInt32, to gpa: UInt64) throws(KVMError) {
        try state.memslotLock.writing { () throws(KVMError) in
            var slot = try testSlot(number)
            guard gpa & 0xfff == 0 else { throw .invalidArgument("a memslot moves to a page-aligned address, not \(hex(gpa))") }
            try checkUnprotected(gpa: gpa, size: slot.size)
            slot.guestPhysicalAddress = gpa
            try setRegion(slot)
            _ = state.memslots.remove(slot: number)
            state.memslots.insert(slot)
        }
    }

    /// Changes a slot's flags. KVM allows turning `.logDirtyPages` on and off; it refuses to change `.readOnly`.
    public func setMemslotFlags(_ number: UInt32, _ flags: MemslotFlags) throws(KVMError) {
        try state.memslotLock.writing { () throws(KVMError) in
            var slot = try testSlot(number)
            slot.readOnly = flags.contains(.readOnly)
            slot.logsDirtyPages = flags.contains(.logDirtyPages)
            try setRegion(slot)
            _ = state.memslots.remove(slot: number)
            state.memslots.insert(slot)
        }
    }

    /// Gives a slot the test added a new size, at most its backing's (KVM cannot resize a slot: it is deleted and
    /// added again over the same host memory, so what the guest wrote stays). If KVM refuses the new size the old
    /// slot is put back; if it refuses that too, the slot is deleted and the error thrown.
    public func resizeMemslot(_ number: UInt32, size: UInt64) throws(KVMError) {
        // Unmapped after the write lock is released, as in deleteMemslot, if the slot cannot be put back.
        var released: MemslotBackingStorage?
        defer { withExtendedLifetime(released) {} }
        try state.memslotLock.writing { () throws(KVMError) in
            var slot = try testSlot(number)
            guard let storage = state.testSlotBackings[number], size > 0, size & 0xfff == 0, size <= storage.size else {
                throw .invalidArgument(
                    "memslot \(number) can take whole pages up to its backing's size, not \(size) bytes")
            }
            try checkUnprotected(gpa: slot.guestPhysicalAddress, size: size)
            let old = slot
            slot.size = 0
            try setRegion(slot)
            _ = state.memslots.remove(slot: number)
            slot.size = size
            do throws(KVMError) { try setRegion(slot) } catch {
                // Put the old slot back; if KVM refuses that too (its guest_memfd range was bound meanwhile), the
                // slot is gone, and the table says so.
                if (try? setRegion(old)) != nil {
                    state.memslots.insert(old)
                } else {
                    released = state.testSlotBackings.removeValue(forKey: number)
                }
                throw error
            }
            state.memslots.insert(slot)
        }
    }

    /// A bounds-checked host view of guest-physical [gpa, gpa + count), which must lie inside one slot (the kernel
    /// selftests' `addr_gpa2hva`). It stays valid until that slot is deleted or resized; the harness's RAM for
    /// the life of the VM.
    ///
    /// - Throws: `.invalidArgument` if the range is not inside one slot.
    public func hostMemory(gpa: UInt64, count: Int) throws(KVMError) -> UnsafeMutableRawBufferPointer {
        try state.memslotLock.reading { () throws(KVMError) -> UnsafeMutableRawBufferPointer in
            guard count >= 0, let slot = state.memslots.slot(containing: gpa),
                UInt64(count) <= slot.end - gpa
            else {
                throw .invalidArgument("guest-physical [\(hex(gpa)), +\(count)) is not inside one memslot")
            }
            guard slot.isHostAccessible else {
                throw .invalidArgument("memslot \(slot.slot) (\(slot.purpose)) at \(hex(slot.guestPhysicalAddress)) is "
                    + "guest_memfd memory the host cannot touch: create the guest_memfd with [.mmap, .initShared]")
            }
            // SAFETY: the range was just checked to lie inside the slot's host memory.
            let base = UnsafeMutableRawPointer(bitPattern: slot.hostAddress + UInt(gpa - slot.guestPhysicalAddress))
            return UnsafeMutableRawBufferPointer(start: base, count: count)
        }
    }

    /// The guest-physical address whose host memory is at `host`, if a slot covers it (`addr_hva2gpa`).
    public func guestPhysicalAddress(ofHost host: UnsafeRawPointer) -> UInt64? {
        let address = UInt(bitPattern: host)
        return state.memslotLock.reading {
            for slot in state.memslots.slots where slot.isHostAccessible && address >= slot.hostAddress && UInt64(address - slot.hostAddress) < slot.size {
                return slot.guestPhysicalAddress + UInt64(address - slot.hostAddress)
            }
            return nil
        }
    }

    /// Sets a memslot as KVM sees it, by number: `KVM_SET_USER_MEMORY_REGION` on a bare VM (whose tests may expect
    /// exactly that ioctl's errors), for tests of KVM's own checks. The harness does not track slots set this way,
    /// so it is allowed only on a VM made without the harness's set-up (`Configuration.bare`).
    ///
    /// - Throws: `.invalidArgument` on a VM with the harness's set-up; `.ioctlFailed` with KVM's errno.
    public func setUserMemoryRegion(slot: UInt32, flags: UInt32, gpa: UInt64, size: UInt64, hostAddress: UInt)
        throws(KVMError)
    {
        try requireBare("KVM_SET_USER_MEMORY_REGION")
        var region = kvm_userspace_memory_region(
            slot: slot, flags: flags, guest_phys_addr: gpa, memory_size: size, userspace_addr: UInt64(hostAddress))
        try kvmIoctl(state.fd, CKVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION (slot \(slot))")
    }

    /// `KVM_SET_USER_MEMORY_REGION2` as `setUserMemoryRegion`, with a guest_memfd and offset (needs
    /// `KVM_CAP_USER_MEMORY2`).
    public func setUserMemoryRegion2(
        slot: UInt32, flags: UInt32, gpa: UInt64, size: UInt64, hostAddress: UInt, guestMemfd: Int32 = -1,
        guestMemfdOffset: UInt64 = 0
    ) throws(KVMError) {
        try requireBare("KVM_SET_USER_MEMORY_REGION2")
        var region = kvm_userspace_memory_region2()
        region.slot = slot
        region.flags = flags
        region.guest_phys_addr = gpa
        region.memory_size = size
        region.userspace_addr = UInt64(hostAddress)
        region.guest_memfd = UInt32(bitPattern: guestMemfd)
        region.guest_memfd_offset = guestMemfdOffset
        try kvmIoctl(state.fd, CKVM_SET_USER_MEMORY_REGION2, &region, "KVM_SET_USER_MEMORY_REGION2 (slot \(slot))")
    }

    // MARK: Internals (the memslot lock is held for writing by every caller of these)

    private func requireBare(_ what: String) throws(KVMError) {
        guard !configuration.harnessSetUp else {
            throw .invalidArgument("\(what) by number is for bare VMs (Configuration.bare), where the harness keeps "
                + "no slots of its own: use addMemslot, moveMemslot and deleteMemslot")
        }
    }

    /// Throws unless a vCPU is not inside `step()`.
    func requireNoVCPURunning(_ operation: String) throws(KVMError) {
        if let running = vcpus.first(where: { $0.isDriven }) {
            throw .vcpuRunning(operation: operation, vcpu: running.index)
        }
    }

    /// The test's slot `number`.
    private func testSlot(_ number: UInt32) throws(KVMError) -> Memslot {
        guard let slot = state.memslots.slot(numbered: number) else {
            throw .invalidArgument("there is no memslot \(number)")
        }
        guard !slot.isHarnessMemory else {
            throw .protectedGuestMemory(gpa: slot.guestPhysicalAddress, owner: "memslot \(number), \(slot.purpose)")
        }
        return slot
    }

    /// Throws if [gpa, gpa + size) covers the ucall address or any of the harness's memory.
    private func checkUnprotected(gpa: UInt64, size: UInt64) throws(KVMError) {
        let end = gpa &+ size
        let ucall = state.ucallAddress
        if configuration.harnessSetUp && ucall >= gpa && ucall < end {
            throw .protectedGuestMemory(gpa: ucall, owner: "the ucall MMIO address")
        }
        var harness = state.memslots.harnessSlots
        if let ram = state.memslots.unregisteredRAM { harness.append(ram) }
        for slot in harness where gpa < slot.end && slot.guestPhysicalAddress < end {
            throw .protectedGuestMemory(gpa: max(gpa, slot.guestPhysicalAddress), owner: slot.purpose)
        }
    }

    /// `KVM_SET_USER_MEMORY_REGION(2)` for `slot` as it stands (size 0 deletes): the v2 ioctl for a guest_memfd
    /// slot, with its file and offset, the v1 ioctl for every other.
    private func setRegion(_ slot: Memslot, backing: MemslotBackingStorage? = nil) throws(KVMError) {
        let flags = (slot.readOnly ? MemslotFlags.readOnly.rawValue : 0)
            | (slot.logsDirtyPages ? MemslotFlags.logDirtyPages.rawValue : 0)
        if let (file, offset) = (backing ?? state.testSlotBackings[slot.slot])?.guestMemfd {
            var region = kvm_userspace_memory_region2()
            region.slot = slot.slot
            region.flags = flags | UInt32(KVM_MEM_GUEST_MEMFD)
            region.guest_phys_addr = slot.guestPhysicalAddress
            region.memory_size = slot.size
            region.userspace_addr = UInt64(slot.hostAddress)
            region.guest_memfd = UInt32(bitPattern: file.fileDescriptor)
            region.guest_memfd_offset = offset
            try kvmIoctl(state.fd, CKVM_SET_USER_MEMORY_REGION2, &region, "KVM_SET_USER_MEMORY_REGION2 (slot \(slot.slot))")
            return
        }
        var region = kvm_userspace_memory_region(
            slot: slot.slot, flags: flags, guest_phys_addr: slot.guestPhysicalAddress, memory_size: slot.size,
            userspace_addr: UInt64(slot.hostAddress))
        try kvmIoctl(state.fd, CKVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION (slot \(slot.slot))")
    }
}
