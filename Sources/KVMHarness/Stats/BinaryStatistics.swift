internal import CKVM
import SystemPackage

/// One of KVM's binary statistics (a descriptor and its values from a `KVM_GET_STATS_FD` file).
public struct KVMStatistic: Sendable, Equatable {
    /// What kind of number it is (`KVM_STATS_TYPE_*`).
    public enum Kind: UInt32, Sendable {
        /// `KVM_STATS_TYPE_CUMULATIVE`: a count that only grows.
        case cumulative = 0
        /// `KVM_STATS_TYPE_INSTANT`: a current value.
        case instant = 1
        /// `KVM_STATS_TYPE_PEAK`: the highest value seen.
        case peak = 2
        /// `KVM_STATS_TYPE_LINEAR_HIST`: a histogram with buckets of equal width.
        case linearHistogram = 3
        /// `KVM_STATS_TYPE_LOG_HIST`: a histogram with buckets of doubling width.
        case logarithmicHistogram = 4
    }

    /// The unit (`KVM_STATS_UNIT_*`).
    public enum Unit: UInt32, Sendable {
        /// `KVM_STATS_UNIT_NONE`: a plain count.
        case none = 0
        /// `KVM_STATS_UNIT_BYTES`.
        case bytes = 1
        /// `KVM_STATS_UNIT_SECONDS` (scaled by `exponent`: -9 is nanoseconds).
        case seconds = 2
        /// `KVM_STATS_UNIT_CYCLES`.
        case cycles = 3
        /// `KVM_STATS_UNIT_BOOLEAN`: 0 or 1.
        case boolean = 4
    }

    /// The name, e.g. "exits" or "halt_poll_success_ns".
    public var name: String
    /// The kind (nil for a kind this library does not know).
    public var kind: Kind?
    /// The unit (nil for a unit this library does not know).
    public var unit: Unit?
    /// The power the unit is scaled by (`exponent`), base 10 or 2 (`KVM_STATS_BASE_*`).
    public var exponent: Int16
    /// Whether `exponent` is a power of 2 (`KVM_STATS_BASE_POW2`) rather than of 10.
    public var baseIsTwo: Bool
    /// The values: one for a number, one per bucket for a histogram.
    public var values: [UInt64]

    /// A statistic with these fields.
    public init(
        name: String, kind: Kind?, unit: Unit?, exponent: Int16 = 0, baseIsTwo: Bool = false, values: [UInt64]
    ) {
        self.name = name
        self.kind = kind
        self.unit = unit
        self.exponent = exponent
        self.baseIsTwo = baseIsTwo
        self.values = values
    }
}

/// Reads KVM's binary statistics: the file `KVM_GET_STATS_FD` returns, for a VM or a vCPU.
///
/// The file holds a header (`struct kvm_stats_header`), an id string, descriptors (`struct kvm_stats_desc`, each
/// followed by a `name_size`-byte name) and the data: u64 values at `data_offset` + each descriptor's `offset`.
package enum KVMBinaryStatistics {
    /// Decodes the contents of a stats file. Pure: it is tested on hand-built bytes.
    ///
    /// - Throws: `.invalidArgument` naming what is out of bounds when the contents do not hold together.
    package static func parse(_ bytes: [UInt8]) throws(KVMError) -> [KVMStatistic] {
        func u32(_ offset: Int) -> UInt32? {
            guard offset >= 0, offset <= bytes.count - 4 else { return nil }
            return (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
        }
        func u64(_ offset: Int) -> UInt64? {
            guard offset >= 0, offset <= bytes.count - 8 else { return nil }
            return (0..<8).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) }
        }
        func malformed(_ what: String) -> KVMError {
            .invalidArgument("malformed KVM binary statistics (\(bytes.count) bytes): \(what)")
        }
        guard let nameSize = u32(4), let count = u32(8), let descriptorOffset = u32(16), let dataOffset = u32(20)
        else { throw malformed("the 24-byte header is cut short") }
        let stride = 16 + Int(nameSize)
        var statistics: [KVMStatistic] = []
        for index in 0..<Int(count) {
            let base = Int(descriptorOffset) + index * stride
            guard base + stride <= bytes.count, let flags = u32(base), let sizeAndExponent = u32(base + 4),
                let offset = u32(base + 8)
            else { throw malformed("descriptor \(index) is past the end") }
            let exponent = Int16(truncatingIfNeeded: sizeAndExponent & 0xffff)
            let size = Int(sizeAndExponent >> 16)
            let nameBytes = bytes[(base + 16)..<(base + stride)]
            let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
            var values: [UInt64] = []
            values.reserveCapacity(size)
            for bucket in 0..<size {
                guard let value = u64(Int(dataOffset) + Int(offset) + bucket * 8) else {
                    throw malformed("the data of \(name) is past the end")
                }
                values.append(value)
            }
            statistics.append(
                KVMStatistic(
                    name: name, kind: KVMStatistic.Kind(rawValue: flags & 0xf),
                    unit: KVMStatistic.Unit(rawValue: (flags >> 4) & 0xf), exponent: exponent,
                    baseIsTwo: (flags >> 8) & 0xf == 1, values: values))
        }
        return statistics
    }

    /// Opens the statistics of the VM or vCPU behind `fd` (`KVM_GET_STATS_FD`) and reads them.
    static func read(from fd: FileDescriptor, owner: String) throws(KVMError) -> [KVMStatistic] {
        // The same request number (_IO(KVMIO, 0xce)) works on VM and vCPU file descriptors.
        let statsFD = FileDescriptor(rawValue: try kvmIoctl(fd, CKVM_GET_STATS_FD, 0, "KVM_GET_STATS_FD (\(owner))"))
        defer { closeQuietly(statsFD) }
        // The file is a few KiB; the limit only keeps a misbehaving kernel from making the host read forever.
        let contents = try readToEnd(statsFD, limit: 1 << 22, "pread(KVM statistics of \(owner))")
        return try parse(contents)
    }
}

extension VirtualMachine {
    /// KVM's binary statistics for the VM (`KVM_GET_STATS_FD` on the VM file descriptor).
    public func binaryStatistics() throws(KVMError) -> [KVMStatistic] {
        try KVMBinaryStatistics.read(from: state.fd, owner: "VM")
    }
}

extension VCPU {
    /// KVM's binary statistics for this vCPU (`KVM_GET_STATS_FD` on the vCPU file descriptor).
    public func binaryStatistics() throws(KVMError) -> [KVMStatistic] {
        try KVMBinaryStatistics.read(from: fd, owner: "vCPU \(index)")
    }
}
