#if arch(x86_64)
internal import CKVM
import Glibc
import SystemPackage

/// A model-specific register and its value (`struct kvm_msr_entry`).
public struct MSREntry: Hashable, Sendable, CustomStringConvertible {
    /// The MSR's index (its ECX for RDMSR/WRMSR).
    public var index: UInt32
    /// Its value.
    public var value: UInt64

    /// An MSR and a value.
    public init(index: UInt32, value: UInt64 = 0) {
        self.index = index
        self.value = value
    }

    public var description: String { "MSR \(hex(index)) = \(hex(value))" }
}

/// `struct kvm_msrs` ends in its entries after an 8-byte header (`nmsrs`, `pad`); `struct kvm_msr_list` after 4.
private let msrsHeaderSize = 8
private let msrListHeaderSize = 4

/// `KVM_GET_MSRS` or `KVM_SET_MSRS` on a file descriptor: returns how many entries KVM processed, from the first.
private func transferMSRs(
    _ fd: FileDescriptor, _ request: UInt, _ entries: [MSREntry], _ name: String
) throws(KVMError) -> [MSREntry] {
    var buffer = FlexibleArray<kvm_msr_entry>(headerSize: msrsHeaderSize, capacity: entries.count)
    buffer.setHeader(UInt32(entries.count), at: 0)
    for (i, entry) in entries.enumerated() {
        var raw = kvm_msr_entry()
        raw.index = entry.index
        raw.data = entry.value
        buffer[i] = raw
    }
    let done = try buffer.withPointer { (pointer) throws(KVMError) in try kvmIoctl(fd, request, pointer, name) }
    return buffer.prefix(Int(done)).map { MSREntry(index: $0.index, value: $0.data) }
}

/// `KVM_GET_MSR_INDEX_LIST` or `KVM_GET_MSR_FEATURE_INDEX_LIST`: KVM answers E2BIG with the count it needs.
private func msrList(_ fd: FileDescriptor, _ request: UInt, _ name: String) throws(KVMError) -> [UInt32] {
    var capacity = 256
    while true {
        var buffer = FlexibleArray<UInt32>(headerSize: msrListHeaderSize, capacity: capacity)
        buffer.setHeader(UInt32(capacity), at: 0)
        let result = buffer.withPointer { system_ioctl(fd.rawValue, request, $0) }
        let needed = Int(buffer.header(at: 0, as: UInt32.self))
        if result >= 0 { return buffer.prefix(needed) }
        let error = Errno(rawValue: Glibc.errno)
        if error == .interrupted { continue }
        guard error == .argListTooLong, needed > capacity, needed <= 1 << 16 else {
            throw .ioctlFailed(operation: name, errno: error)
        }
        capacity = needed
    }
}

extension VCPU {
    /// Reads MSRs (`KVM_GET_MSRS`). KVM stops at the first MSR it cannot read, so the result has the values of a
    /// prefix of `indices`: compare its count to see how many were read (the kernel selftests' `_vcpu_msrs_get`).
    public func readMSRs(_ indices: [UInt32]) throws(KVMError) -> [MSREntry] {
        try transferMSRs(fd, CKVM_GET_MSRS, indices.map { MSREntry(index: $0) }, "KVM_GET_MSRS")
    }

    /// Writes MSRs (`KVM_SET_MSRS`) and returns how many KVM wrote: it stops at the first value it refuses.
    @discardableResult
    public func writeMSRs(_ entries: [MSREntry]) throws(KVMError) -> Int {
        try transferMSRs(fd, CKVM_SET_MSRS, entries, "KVM_SET_MSRS").count
    }

    /// Reads one MSR (`KVM_GET_MSRS`, the kernel selftests' `vcpu_get_msr`).
    ///
    /// - Throws: `.msrNotProcessed` when KVM does not read it for this vCPU.
    public func msr(_ index: UInt32) throws(KVMError) -> UInt64 {
        guard let entry = try readMSRs([index]).first else { throw .msrNotProcessed(index: index, write: nil) }
        return entry.value
    }

    /// Writes one MSR (`KVM_SET_MSRS`, the kernel selftests' `vcpu_set_msr`).
    ///
    /// - Throws: `.msrNotProcessed` when KVM refuses the value (a reserved bit, an MSR it does not emulate).
    public func setMSR(_ index: UInt32, to value: UInt64) throws(KVMError) {
        guard try writeMSRs([MSREntry(index: index, value: value)]) == 1 else {
            throw .msrNotProcessed(index: index, write: value)
        }
    }
}

extension KVM {
    /// The MSRs KVM saves and restores for a vCPU (`KVM_GET_MSR_INDEX_LIST`).
    public func msrIndexList() throws(KVMError) -> [UInt32] {
        try msrList(fd, CKVM_GET_MSR_INDEX_LIST, "KVM_GET_MSR_INDEX_LIST")
    }

    /// The feature MSRs, which describe what the host offers rather than vCPU state
    /// (`KVM_GET_MSR_FEATURE_INDEX_LIST`, with `KVM_CAP_GET_MSR_FEATURES`).
    public func featureMSRIndexList() throws(KVMError) -> [UInt32] {
        try msrList(fd, CKVM_GET_MSR_FEATURE_INDEX_LIST, "KVM_GET_MSR_FEATURE_INDEX_LIST")
    }

    /// Reads feature MSRs (`KVM_GET_MSRS` on the system file descriptor); as for a vCPU, a prefix is read.
    public func readFeatureMSRs(_ indices: [UInt32]) throws(KVMError) -> [MSREntry] {
        try transferMSRs(fd, CKVM_GET_MSRS, indices.map { MSREntry(index: $0) }, "KVM_GET_MSRS (system)")
    }

    /// Reads one feature MSR (`KVM_GET_MSRS` on the system file descriptor, `kvm_get_feature_msr`).
    ///
    /// - Throws: `.msrNotProcessed` when it is not a feature MSR KVM knows.
    public func featureMSR(_ index: UInt32) throws(KVMError) -> UInt64 {
        guard let entry = try readFeatureMSRs([index]).first else { throw .msrNotProcessed(index: index, write: nil) }
        return entry.value
    }
}

/// Which MSR accesses KVM lets the guest make and which exit to user space (`KVM_X86_SET_MSR_FILTER`): for MSRs
/// in a range, a set bit allows the access, a clear bit denies it (an exit with `KVM_MSR_EXIT_REASON_FILTER` when
/// user-space MSR exits are enabled for it, #GP otherwise); MSRs in no range follow `defaultDeny`.
public struct MSRFilter: Sendable, Hashable {
    /// The accesses a range applies to (`KVM_MSR_FILTER_READ`, `KVM_MSR_FILTER_WRITE`).
    public struct Access: OptionSet, Sendable, Hashable {
        public var rawValue: UInt32
        /// Creates the set from its `KVM_MSR_FILTER_*` bits.
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// RDMSR.
        public static let read = Access(rawValue: UInt32(KVM_MSR_FILTER_READ))
        /// WRMSR.
        public static let write = Access(rawValue: UInt32(KVM_MSR_FILTER_WRITE))
    }

    /// MSRs `base` to `base + count - 1` and, for each, whether it is allowed (`struct kvm_msr_filter_range`).
    public struct Range: Sendable, Hashable {
        /// The accesses this range decides.
        public var access: Access
        /// The first MSR.
        public var base: UInt32
        /// One bit per MSR from `base`, least significant bit first: set to allow.
        public var bitmap: [UInt8]
        /// The number of MSRs (`nmsrs`); nil for every bit of `bitmap`.
        public var count: UInt32?

        /// A range with an explicit bitmap, covering `count` MSRs (every bit of the bitmap if nil).
        public init(access: Access, base: UInt32, bitmap: [UInt8], count: UInt32? = nil) {
            self.access = access
            self.base = base
            self.bitmap = bitmap
            self.count = count
        }

        /// `count` MSRs from `base`, all allowed or all denied (`count` is rounded up to whole bytes of bitmap).
        public init(access: Access, base: UInt32, count: Int, allowed: Bool) {
            self.init(access: access, base: base, bitmap: [UInt8](repeating: allowed ? 0xff : 0, count: (count + 7) / 8))
        }

        /// Sets whether `msr` (inside the range) is allowed.
        public mutating func set(_ msr: UInt32, allowed: Bool) {
            let bit = Int(msr &- base)
            guard bit >= 0, bit < bitmap.count * 8 else { return }
            if allowed { bitmap[bit / 8] |= 1 << UInt8(bit % 8) } else { bitmap[bit / 8] &= ~(1 << UInt8(bit % 8)) }
        }
    }

    /// `struct kvm_msr_filter`'s flags: `KVM_MSR_FILTER_DEFAULT_DENY` or 0 (other bits make KVM answer EINVAL).
    public var flags: UInt32
    /// The ranges, at most 16; an empty list with `defaultDeny` false removes the filter.
    public var ranges: [Range]

    /// Whether MSRs in no range are denied (`KVM_MSR_FILTER_DEFAULT_DENY`) rather than allowed.
    public var defaultDeny: Bool {
        get { flags & UInt32(KVM_MSR_FILTER_DEFAULT_DENY) != 0 }
        set { flags = newValue ? flags | UInt32(KVM_MSR_FILTER_DEFAULT_DENY) : flags & ~UInt32(KVM_MSR_FILTER_DEFAULT_DENY) }
    }

    /// A filter.
    public init(defaultDeny: Bool = false, ranges: [Range] = []) {
        self.flags = defaultDeny ? UInt32(KVM_MSR_FILTER_DEFAULT_DENY) : 0
        self.ranges = ranges
    }
}

extension VirtualMachine {
    /// Installs an MSR filter (`KVM_X86_SET_MSR_FILTER`); KVM copies the bitmaps.
    ///
    /// - Throws: `.invalidArgument` for more than 16 ranges or a bitmap larger than KVM takes, `.ioctlFailed` with
    ///   KVM's errno otherwise.
    public func setMSRFilter(_ filter: MSRFilter) throws(KVMError) {
        guard filter.ranges.count <= Int(KVM_MSR_FILTER_MAX_RANGES) else {
            throw .invalidArgument("an MSR filter has at most \(KVM_MSR_FILTER_MAX_RANGES) ranges, not \(filter.ranges.count)")
        }
        if let large = filter.ranges.first(where: { $0.bitmap.count > Int(KVM_MSR_FILTER_MAX_BITMAP_SIZE) }) {
            throw .invalidArgument(
                "an MSR filter range's bitmap has at most \(KVM_MSR_FILTER_MAX_BITMAP_SIZE) bytes, not \(large.bitmap.count)")
        }
        if let short = filter.ranges.first(where: { ($0.count ?? 0) > UInt32($0.bitmap.count * 8) }) {
            throw .invalidArgument(
                "an MSR filter range of \(short.count ?? 0) MSRs needs \((Int(short.count ?? 0) + 7) / 8) bytes of bitmap, "
                    + "not \(short.bitmap.count)")
        }
        // The bitmaps must stay at fixed addresses for the ioctl: copy them into one allocation.
        let total = filter.ranges.reduce(0) { $0 + $1.bitmap.count }
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 1), alignment: 8)
        defer { storage.deallocate() }
        var request = kvm_msr_filter()
        request.flags = filter.flags
        var offset = 0
        withUnsafeMutableBytes(of: &request.ranges) { raw in
            for (i, range) in filter.ranges.enumerated() {
                // SAFETY: `storage` holds `total` bytes; each bitmap is copied to its own part of it.
                let bitmap = storage.baseAddress! + offset
                range.bitmap.withUnsafeBytes { bitmap.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                offset += range.bitmap.count
                var entry = kvm_msr_filter_range()
                entry.flags = range.access.rawValue
                entry.nmsrs = range.count ?? UInt32(range.bitmap.count * 8)
                entry.base = range.base
                entry.bitmap = bitmap.assumingMemoryBound(to: UInt8.self)
                raw.storeBytes(of: entry, toByteOffset: i * MemoryLayout<kvm_msr_filter_range>.stride, as: kvm_msr_filter_range.self)
            }
        }
        try kvmIoctl(state.fd, CKVM_X86_SET_MSR_FILTER, &request, "KVM_X86_SET_MSR_FILTER")
    }
}
#endif
