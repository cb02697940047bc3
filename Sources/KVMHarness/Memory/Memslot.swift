/// One KVM memslot: a range of guest-physical memory backed by host memory (`struct kvm_userspace_memory_region`).
public struct Memslot: Sendable, Equatable {
    /// The slot number.
    public var slot: UInt32
    /// First guest-physical address.
    public var guestPhysicalAddress: UInt64
    /// Size in bytes (a multiple of the page size).
    public var size: UInt64
    /// The host address of the backing memory.
    public var hostAddress: UInt
    /// Whether the guest may not write it (`KVM_MEM_READONLY`: a guest write exits as MMIO).
    public var readOnly: Bool
    /// What the harness put there, for diagnostics ("guest RAM", "guest code (read-only)").
    public var purpose: String
    /// Whether KVM logs the guest's writes to it (`KVM_MEM_LOG_DIRTY_PAGES`).
    public var logsDirtyPages: Bool = false
    /// Whether the harness made it for its own use (guest RAM, code): tests cannot delete, move or overlap it.
    public var isHarnessMemory: Bool = true
    /// Whether the host may read and write its memory at `hostAddress`: false for a guest_memfd slot whose file the
    /// host cannot map or touch (`MemoryBacking.guestMemfd`), where `hostAddress` is 0.
    public var isHostAccessible: Bool = true

    /// Whether `gpa` is inside the slot.
    @inline(__always)
    public func contains(_ gpa: UInt64) -> Bool {
        gpa >= guestPhysicalAddress && gpa - guestPhysicalAddress < size
    }

    /// One past the last guest-physical address.
    public var end: UInt64 { guestPhysicalAddress + size }
}

/// The memslots of one VM, as a bounds-checked view of guest-physical memory.
///
/// Reads and writes touch host memory only inside a slot's backing, and never cross from one slot into another.
/// Guest RAM that the VM has not registered with KVM yet (`unregisteredRAM`, see `VirtualMachine`) is part of the
/// host's view too, so the harness can build page tables in it before KVM maps it.
public struct MemslotTable: PhysicalMemory, Sendable {
    /// The slots KVM knows, sorted by guest-physical address.
    public private(set) var slots: [Memslot] = []
    /// The top of guest RAM that is mapped in the host but not yet registered with KVM, if any.
    public private(set) var unregisteredRAM: Memslot?
    /// Each slot's guest-physical address by number: with `slots` sorted, finding, adding and removing a slot is a
    /// binary search, not a scan (the memslot tests use KVM's 32,000-odd slots).
    private var addressByNumber: [UInt32: UInt64] = [:]
    /// The harness's own slots (a few), which every slot change checks against.
    private(set) var harnessSlots: [Memslot] = []

    /// An empty table.
    public init() {}

    /// The index of the first slot at or above `gpa` (slots do not overlap, so their starts are distinct).
    private func firstIndex(atOrAbove gpa: UInt64) -> Int {
        var low = 0
        var high = slots.count
        while low < high {
            let middle = (low + high) / 2
            if slots[middle].guestPhysicalAddress < gpa { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The index of slot number `slot`, if any.
    private func index(ofSlot slot: UInt32) -> Int? {
        guard let gpa = addressByNumber[slot] else { return nil }
        let index = firstIndex(atOrAbove: gpa)
        return index < slots.count && slots[index].slot == slot ? index : nil
    }

    /// Adds a slot; the caller has checked that it overlaps no other.
    mutating func insert(_ slot: Memslot) {
        slots.insert(slot, at: firstIndex(atOrAbove: slot.guestPhysicalAddress))
        addressByNumber[slot.slot] = slot.guestPhysicalAddress
        if slot.isHarnessMemory { harnessSlots.append(slot) }
    }

    /// Removes slot number `slot`, returning it (nil if there is none).
    mutating func remove(slot: UInt32) -> Memslot? {
        guard let index = index(ofSlot: slot) else { return nil }
        addressByNumber[slot] = nil
        harnessSlots.removeAll { $0.slot == slot }
        return slots.remove(at: index)
    }

    /// The slot numbered `slot`, if any.
    public func slot(numbered slot: UInt32) -> Memslot? { index(ofSlot: slot).map { slots[$0] } }

    /// Sets the guest RAM that is mapped in the host but not registered with KVM yet (nil: none left).
    mutating func setUnregisteredRAM(_ ram: Memslot?) { unregisteredRAM = ram }

    /// The slot (or unregistered RAM) containing `gpa`, if any.
    @inline(__always)
    public func slot(containing gpa: UInt64) -> Memslot? {
        // The last slot starting at or below gpa is the only one that can contain it.
        let index = gpa == .max ? slots.count - 1 : firstIndex(atOrAbove: gpa + 1) - 1
        if index >= 0, slots[index].contains(gpa) { return slots[index] }
        if let ram = unregisteredRAM, ram.contains(gpa) { return ram }
        return nil
    }

    /// Whether any slot, or the unregistered RAM, covers a byte of [gpa, gpa + size).
    public func overlaps(gpa: UInt64, size: UInt64) -> Bool {
        (slots + (unregisteredRAM.map { [$0] } ?? [])).contains {
            gpa < $0.end && $0.guestPhysicalAddress < gpa &+ size
        }
    }

    /// The slot nearest to `gpa` (containing it, or the closest below or above), for explaining MMIO exits.
    public func nearest(to gpa: UInt64) -> Memslot? {
        (slots + (unregisteredRAM.map { [$0] } ?? [])).min { distance($0, gpa) < distance($1, gpa) }
    }

    private func distance(_ slot: Memslot, _ gpa: UInt64) -> UInt64 {
        if slot.contains(gpa) { return 0 }
        return gpa < slot.guestPhysicalAddress ? slot.guestPhysicalAddress - gpa : gpa - (slot.end - 1)
    }

    @inline(__always)
    private func hostPointer(_ gpa: UInt64, _ count: Int, writing: Bool) -> UnsafeMutableRawPointer? {
        guard count >= 0, let slot = slot(containing: gpa), slot.isHostAccessible, !(writing && slot.readOnly)
        else { return nil }
        let offset = gpa - slot.guestPhysicalAddress
        guard UInt64(count) <= slot.size - offset else { return nil }
        // SAFETY: [gpa, gpa + count) was just checked to lie inside this slot, whose host backing the VM keeps mapped.
        return UnsafeMutableRawPointer(bitPattern: slot.hostAddress + UInt(offset))
    }

    @inline(__always)
    public func read(gpa: UInt64, into destination: UnsafeMutableRawPointer, count: Int) -> Bool {
        // SAFETY: hostPointer checked that [gpa, gpa + count) lies inside one slot, whose backing the VM keeps mapped.
        guard let source = hostPointer(gpa, count, writing: false) else { return false }
        destination.copyMemory(from: source, byteCount: count)
        return true
    }

    public func write(gpa: UInt64, from source: UnsafeRawPointer, count: Int) -> Bool {
        // SAFETY: as in read, and the slot is writable.
        guard let destination = hostPointer(gpa, count, writing: true) else { return false }
        destination.copyMemory(from: source, byteCount: count)
        return true
    }

    /// A host pointer to `count` writable bytes at `gpa`, for the harness's own bulk copies into guest RAM.
    func mutablePointer(gpa: UInt64, count: Int) -> UnsafeMutableRawPointer? {
        hostPointer(gpa, count, writing: true)
    }
}
