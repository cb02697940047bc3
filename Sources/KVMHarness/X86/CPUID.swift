#if arch(x86_64)
internal import CKVM
import Glibc
import SystemPackage

/// A set of CPUID entries (`struct kvm_cpuid_entry2`), as `KVM_GET_SUPPORTED_CPUID` returns them and
/// `KVM_SET_CPUID2` takes them.
public struct CPUIDTable: Sendable {
    /// The entries, in KVM's order.
    public var entries: [kvm_cpuid_entry2]

    /// A table of these entries (none for an empty CPUID, which `KVM_SET_CPUID2` also takes).
    public init(entries: [kvm_cpuid_entry2] = []) { self.entries = entries }

    /// Reads what KVM supports on this host (`KVM_GET_SUPPORTED_CPUID`), growing the buffer on E2BIG.
    static func supported(by fd: FileDescriptor) throws(KVMError) -> CPUIDTable {
        var capacity = 128
        while true {
            var buffer = CPUIDBuffer(count: capacity)
            let result = buffer.withHeader { system_ioctl(fd.rawValue, CKVM_GET_SUPPORTED_CPUID, $0) }
            if result >= 0 { return CPUIDTable(entries: buffer.entries) }
            let error = Errno(rawValue: errno)
            if error.rawValue == E2BIG && capacity < 4096 {
                capacity *= 2
                continue
            }
            throw .ioctlFailed(operation: "KVM_GET_SUPPORTED_CPUID", errno: error)
        }
    }

    /// The entry for a leaf and subleaf, if present.
    public func entry(function: UInt32, index: UInt32 = 0) -> kvm_cpuid_entry2? {
        entries.first { $0.function == function && ($0.index == index || $0.flags & UInt32(KVM_CPUID_FLAG_SIGNIFCANT_INDEX) == 0) }
    }

    /// The guest's MAXPHYADDR: CPUID 0x80000008 EAX[7:0] (36 if the leaf is missing, as the architecture says).
    public var physicalAddressBits: Int {
        entry(function: 0x8000_0008).map { Int($0.eax & 0xff) } ?? 36
    }

    /// The guest's linear address width: CPUID 0x80000008 EAX[15:8] (48 if the leaf is missing).
    public var virtualAddressBits: Int {
        entry(function: 0x8000_0008).map { Int(($0.eax >> 8) & 0xff) } ?? 48
    }

    /// Whether the CPU has XSAVE (CPUID 1 ECX bit 26).
    public var hasXSAVE: Bool { (entry(function: 1)?.ecx ?? 0) & (1 << 26) != 0 }

    /// The XCR0 feature bits the CPU supports (CPUID 0xD subleaf 0, EDX:EAX).
    public var supportedXCR0: UInt64 {
        guard let leaf = entry(function: 0xd, index: 0) else { return 0 }
        return UInt64(leaf.edx) << 32 | UInt64(leaf.eax)
    }

    /// The CPU vendor string ("AuthenticAMD", "GenuineIntel", ...), from leaf 0.
    public var vendor: String {
        guard let leaf = entry(function: 0) else { return "" }
        var bytes: [UInt8] = []
        for register in [leaf.ebx, leaf.edx, leaf.ecx] {
            for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8((register >> UInt32(shift)) & 0xff)) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The same table with the initial APIC ID set to `apicID` (CPUID 1 EBX[31:24], 0xB and 0x1F EDX), as each vCPU
    /// needs its own.
    public func withAPICID(_ apicID: UInt32) -> CPUIDTable {
        var copy = self
        for i in copy.entries.indices {
            switch copy.entries[i].function {
            case 1:
                copy.entries[i].ebx = (copy.entries[i].ebx & 0x00ff_ffff) | (apicID << 24)
            case 0xb, 0x1f:
                copy.entries[i].edx = apicID
            default:
                break
            }
        }
        return copy
    }

    /// Calls `body` with a `struct kvm_cpuid2` holding these entries (for `KVM_SET_CPUID2`).
    func withKVMCPUID2<R>(_ body: (UnsafeMutableRawPointer) throws(KVMError) -> R) throws(KVMError) -> R {
        var buffer = CPUIDBuffer(count: entries.count)
        buffer.entries = entries
        return try buffer.withHeader(body)
    }
}

/// A `struct kvm_cpuid2` header followed by `count` entries, in one allocation.
///
/// SAFETY: every access goes through `storage`'s buffer, sized in `init` for the header and `capacity` entries, and
/// entry offsets are bounded by `capacity` (`prefix(capacity)`, `min(count, capacity)`).
private struct CPUIDBuffer {
    private var storage: [UInt8]
    private let capacity: Int

    init(count: Int) {
        capacity = count
        storage = [UInt8](repeating: 0, count: MemoryLayout<kvm_cpuid2>.size + count * MemoryLayout<kvm_cpuid_entry2>.stride)
        storage.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(count), toByteOffset: 0, as: UInt32.self) }
    }

    var entries: [kvm_cpuid_entry2] {
        get {
            storage.withUnsafeBytes { bytes in
                let count = Int(bytes.load(fromByteOffset: 0, as: UInt32.self))
                return (0..<min(count, capacity)).map {
                    bytes.loadUnaligned(
                        fromByteOffset: MemoryLayout<kvm_cpuid2>.size + $0 * MemoryLayout<kvm_cpuid_entry2>.stride,
                        as: kvm_cpuid_entry2.self)
                }
            }
        }
        set {
            storage.withUnsafeMutableBytes { bytes in
                bytes.storeBytes(of: UInt32(newValue.count), toByteOffset: 0, as: UInt32.self)
                for (i, entry) in newValue.prefix(capacity).enumerated() {
                    bytes.storeBytes(
                        of: entry, toByteOffset: MemoryLayout<kvm_cpuid2>.size + i * MemoryLayout<kvm_cpuid_entry2>.stride,
                        as: kvm_cpuid_entry2.self)
                }
            }
        }
    }

    mutating func withHeader<R, E: Error>(_ body: (UnsafeMutableRawPointer) throws(E) -> R) throws(E) -> R {
        // SAFETY: the buffer is sized for the header and `capacity` entries, and outlives the call.
        let result: Result<R, E> = storage.withUnsafeMutableBytes { bytes in
            do throws(E) { return .success(try body(bytes.baseAddress!)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}
#endif
