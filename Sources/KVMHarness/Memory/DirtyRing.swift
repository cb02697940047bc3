internal import CKVM
import Glibc
import SystemPackage

/// One page a dirty ring reported: its slot and its page index in the slot (`struct kvm_dirty_gfn`).
public struct DirtyPage: Hashable, Sendable {
    /// The memslot number (its address space in bits 31:16, 0 on x86 outside SMM).
    public var slot: UInt32
    /// The page's index in the slot.
    public var page: UInt64
}

extension VirtualMachine {
    /// Switches the VM's dirty logging from bitmaps to per-vCPU rings of `entries` entries (a power of two),
    /// `KVM_CAP_DIRTY_LOG_RING_ACQ_REL` where KVM offers it, else `KVM_CAP_DIRTY_LOG_RING`. Call it before adding
    /// vCPUs (KVM refuses afterwards); then `dirtyRing(of:)` maps each vCPU's ring.
    ///
    /// - Throws: `.missingCapability`, `.invalidArgument` once vCPUs exist or for a size that is not a power of
    ///   two within the maximum KVM reports, `.ioctlFailed`.
    public func enableDirtyRing(entries: Int) throws(KVMError) {
        let capability: Capability = kvm.has(.dirtyLogRingAcquireRelease) ? .dirtyLogRingAcquireRelease : .dirtyLogRing
        let maximumBytes = Int(check(capability))
        guard maximumBytes > 0 else { throw .missingCapability(.dirtyLogRing) }
        let bytes = entries * MemoryLayout<kvm_dirty_gfn>.size
        guard entries > 0, entries & (entries - 1) == 0, bytes <= maximumBytes else {
            throw .invalidArgument("a dirty ring has a power-of-two number of entries up to "
                + "\(maximumBytes / MemoryLayout<kvm_dirty_gfn>.size), not \(entries)")
        }
        guard vcpus.isEmpty else {
            throw .invalidArgument("enable the dirty ring before adding vCPUs (the VM has \(vcpus.count))")
        }
        try enableCapability(capability, arguments: [UInt64(bytes)])
        state.dirtyRingBytes = bytes
    }

    /// Maps `vcpu`'s dirty ring (at page `KVM_DIRTY_LOG_PAGE_OFFSET` of the vCPU file).
    public func dirtyRing(of vcpu: VCPU) throws(KVMError) -> DirtyRing {
        guard state.dirtyRingBytes > 0 else { throw .invalidArgument("the VM has no dirty ring: enableDirtyRing(entries:)") }
        return try DirtyRing(vcpu: vcpu, bytes: state.dirtyRingBytes)
    }

    /// Lets KVM reuse the ring entries harvested since the last reset, on every vCPU, and write-protects their
    /// pages again (`KVM_RESET_DIRTY_RINGS`).
    ///
    /// - Returns: how many entries KVM reset.
    @discardableResult
    public func resetDirtyRings() throws(KVMError) -> Int {
        Int(try kvmIoctl(state.fd, CKVM_RESET_DIRTY_RINGS, 0, "KVM_RESET_DIRTY_RINGS"))
    }
}

/// One vCPU's dirty ring: KVM appends the pages the vCPU dirties; `harvest()` collects them in order and marks
/// them for `resetDirtyRings()`. When the ring is full the vCPU exits with `KVM_EXIT_DIRTY_RING_FULL`
/// (`.exit(.other(.dirtyRingFull))`) until it is harvested and reset.
///
/// Harvest from one thread at a time; it may run while the vCPU runs.
public final class DirtyRing: @unchecked Sendable {
    // Sendable: `fetchIndex` is only touched by `harvest`, which the type asks to be called from one thread at a
    // time; the entries are shared with KVM through acquire loads and release stores.
    private let mapping: HostMapping
    private let vcpu: VCPU
    /// The number of entries.
    public let entries: Int
    /// How many entries were harvested so far: the next one to look at is `fetchIndex % entries`.
    public private(set) var fetchIndex: UInt32 = 0

    /// `KVM_DIRTY_GFN_F_DIRTY` and `KVM_DIRTY_GFN_F_RESET` (`_BITUL(0)`, `_BITUL(1)`, which Swift cannot import).
    private static let dirtyFlag: UInt32 = 1 << 0
    private static let resetFlag: UInt32 = 1 << 1

    init(vcpu: VCPU, bytes: Int) throws(KVMError) {
        let offset = Int(KVM_DIRTY_LOG_PAGE_OFFSET) * Int(getpagesize())
        guard let base = system_mmap(size: bytes, protection: PROT_READ | PROT_WRITE, fd: vcpu.fd.rawValue, offset: offset)
        else {
            throw .systemCallFailed(operation: "mmap(dirty ring of vCPU \(vcpu.index))", errno: Errno(rawValue: errno))
        }
        mapping = HostMapping(adopting: base, size: bytes)
        self.vcpu = vcpu
        entries = bytes / MemoryLayout<kvm_dirty_gfn>.size
    }

    /// Collects the dirty entries from `fetchIndex` on, marking each collected (`KVM_DIRTY_GFN_F_RESET`): at most
    /// `entries` in one call, as many as the ring holds, so that a KVM that goes on writing entries while the vCPU
    /// runs (past a full ring, where the kernel warns) cannot keep the caller here.
    public func harvest() -> [DirtyPage] {
        var pages: [DirtyPage] = []
        // SAFETY: the mapping holds `entries` kvm_dirty_gfn structs and lives as long as this object.
        let ring = mapping.base.assumingMemoryBound(to: kvm_dirty_gfn.self)
        while pages.count < entries {
            let entry = ring + Int(fetchIndex % UInt32(entries))
            // SAFETY: `flags` is the first u32 of the entry, which KVM writes with a release store.
            let flags = UnsafeMutableRawPointer(entry).assumingMemoryBound(to: UInt32.self)
            guard ckvm_load_acquire_u32(flags) & Self.dirtyFlag != 0 else { break }
            pages.append(DirtyPage(slot: entry.pointee.slot, page: entry.pointee.offset))
            ckvm_store_release_u32(flags, Self.resetFlag)
            fetchIndex &+= 1
        }
        return pages
    }
}
