internal import CKVM
import Glibc

/// One access KVM buffered in the coalesced ring instead of exiting (`struct kvm_coalesced_mmio`).
public struct CoalescedAccess: Hashable, Sendable {
    /// The guest-physical address, or the port for port I/O.
    public var address: UInt64
    /// The access size in bytes (1 to 8).
    public var length: UInt32
    /// Whether it was port I/O (`pio`).
    public var isPIO: Bool
    /// The data written, little-endian, zero above `length`.
    public var data: UInt64
}

extension VirtualMachine {
    /// Makes guest writes to [address, address + size) land in the coalesced ring without an exit
    /// (`KVM_REGISTER_COALESCED_MMIO`); with `pio`, to ports [address, address + size) (`KVM_CAP_COALESCED_PIO`).
    /// The range must not be backed by a memslot. A write there exits only when the ring is full but one.
    public func registerCoalescedZone(address: UInt64, size: UInt32, pio: Bool = false) throws(KVMError) {
        var zone = coalescedZone(address, size, pio)
        try kvmIoctl(state.fd, CKVM_REGISTER_COALESCED_MMIO, &zone, "KVM_REGISTER_COALESCED_MMIO")
    }

    /// Removes a zone `registerCoalescedZone` added (`KVM_UNREGISTER_COALESCED_MMIO`).
    public func unregisterCoalescedZone(address: UInt64, size: UInt32, pio: Bool = false) throws(KVMError) {
        var zone = coalescedZone(address, size, pio)
        try kvmIoctl(state.fd, CKVM_UNREGISTER_COALESCED_MMIO, &zone, "KVM_UNREGISTER_COALESCED_MMIO")
    }

    private func coalescedZone(_ address: UInt64, _ size: UInt32, _ pio: Bool) -> kvm_coalesced_mmio_zone {
        var zone = kvm_coalesced_mmio_zone()
        zone.addr = address
        zone.size = size
        zone.pio = pio ? 1 : 0
        return zone
    }

    /// The VM's coalesced ring, seen through `vcpu`'s mapping (every vCPU maps the same ring, at the page
    /// `KVM_CAP_COALESCED_MMIO` names).
    ///
    /// - Throws: `.missingCapability(.coalescedMMIO)`, `.invalidArgument` if the page is outside the mapping.
    public func coalescedRing(of vcpu: VCPU) throws(KVMError) -> CoalescedRing {
        let page = Int(kvm.check(.coalescedMMIO))
        guard page > 0 else { throw .missingCapability(.coalescedMMIO) }
        let pageSize = Int(getpagesize())
        guard (page + 1) * pageSize <= vcpu.runMapping.size else {
            throw .invalidArgument("the coalesced ring's page \(page) is outside vCPU \(vcpu.index)'s mapping")
        }
        return CoalescedRing(vcpu: vcpu, base: vcpu.runMapping.base + page * pageSize, pageSize: pageSize)
    }
}

/// The coalesced MMIO/PIO ring (`struct kvm_coalesced_mmio_ring`): KVM appends at `last`, the host consumes from
/// `first`. Read it while the vCPUs are out of `KVM_RUN` (KVM appends only while one runs).
public struct CoalescedRing: @unchecked Sendable {
    // Sendable: the page lives as long as `vcpu`'s mapping, which `vcpu` keeps.
    private let vcpu: VCPU
    private let base: UnsafeMutableRawPointer
    /// How many entries the ring has: (page size - 8) / 24; KVM keeps one free.
    public let capacity: Int

    init(vcpu: VCPU, base: UnsafeMutableRawPointer, pageSize: Int) {
        self.vcpu = vcpu
        self.base = base
        capacity = (pageSize - 8) / MemoryLayout<kvm_coalesced_mmio>.size
    }

    /// The index of the oldest unconsumed entry.
    public var first: UInt32 {
        get { base.load(as: UInt32.self) }
        nonmutating set { base.storeBytes(of: newValue, as: UInt32.self) }
    }

    /// The index after the newest entry.
    public var last: UInt32 {
        get { base.load(fromByteOffset: 4, as: UInt32.self) }
        nonmutating set { base.storeBytes(of: newValue, toByteOffset: 4, as: UInt32.self) }
    }

    /// Entry `index` (taken modulo the capacity).
    public subscript(index: Int) -> CoalescedAccess {
        let slot = index % capacity
        // SAFETY: slot < capacity, so the 24-byte entry lies inside the ring's page.
        let entry = (base + 8 + slot * MemoryLayout<kvm_coalesced_mmio>.size).load(as: kvm_coalesced_mmio.self)
        let length = min(entry.len, 8)
        var data: UInt64 = 0
        withUnsafeBytes(of: entry.data) { bytes in
            for i in 0..<Int(length) { data |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        }
        return CoalescedAccess(address: entry.phys_addr, length: entry.len, isPIO: entry.pio != 0, data: data)
    }

    /// The entries from `first` to `last`, consumed (`first` set to `last`).
    public func drain() -> [CoalescedAccess] {
        var result: [CoalescedAccess] = []
        var index = Int(first) % capacity
        let end = Int(last) % capacity
        while index != end {
            result.append(self[index])
            index = (index + 1) % capacity
        }
        first = UInt32(end)
        return result
    }
}
