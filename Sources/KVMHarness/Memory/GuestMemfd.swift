internal import CKVM
import Glibc
import SystemPackage

/// A guest_memfd: a file of guest memory that KVM gives out for one VM (`KVM_CREATE_GUEST_MEMFD`, Linux 6.8).
///
/// Back a memslot with it through `MemoryBacking.guestMemfd(_:offset:)`. Made without `Flags.mmap` its memory cannot
/// be mapped by the host at all (`mmap` fails with ENODEV), so only the guest sees it; with `.mmap` and
/// `.initShared` (Linux 6.18, default VMs) the host maps it and sees the guest's writes, as with shared memory.
///
/// The file is closed when the last reference goes: a memslot backed by it keeps it alive until the slot is deleted.
public final class GuestMemfd: Sendable, Equatable, CustomStringConvertible {
    /// The flags of `KVM_CREATE_GUEST_MEMFD` (`GUEST_MEMFD_FLAG_*`); `VirtualMachine.supportedGuestMemfdFlags` says
    /// which the VM accepts.
    public struct Flags: OptionSet, Sendable, Hashable {
        public var rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }

        /// `GUEST_MEMFD_FLAG_MMAP` (Linux 6.18): the host may `mmap` the file (shared mappings only).
        public static let mmap = Flags(rawValue: UInt64(GUEST_MEMFD_FLAG_MMAP))
        /// `GUEST_MEMFD_FLAG_INIT_SHARED` (Linux 6.18): its memory starts shared, so a host mapping may touch it;
        /// without it a host access to a mapped page raises SIGBUS.
        public static let initShared = Flags(rawValue: UInt64(GUEST_MEMFD_FLAG_INIT_SHARED))
    }

    /// The file descriptor. Valid for the life of this object; do not close it.
    public let fileDescriptor: Int32
    /// Its size in bytes, as created.
    public let size: UInt64
    /// The flags it was created with.
    public let flags: Flags
    /// The VM file descriptor it belongs to (a guest_memfd backs memslots of that VM only).
    let vmFD: Int32

    init(fileDescriptor: Int32, size: UInt64, flags: Flags, vmFD: Int32) {
        self.fileDescriptor = fileDescriptor
        self.size = size
        self.flags = flags
        self.vmFD = vmFD
    }

    deinit { _ = system_close(fileDescriptor) }

    /// Whether the host can map the file and touch its memory without a fault (`.mmap` and `.initShared`).
    public var isHostAccessible: Bool { flags.contains([.mmap, .initShared]) }

    /// Allocates memory for bytes [offset, offset + length) ahead of the guest's first touch
    /// (`fallocate(FALLOC_FL_KEEP_SIZE)`).
    ///
    /// - Throws: `.systemCallFailed("fallocate", errno)`: EINVAL for a range that is not whole pages inside the file.
    public func allocate(offset: UInt64, length: UInt64) throws(KVMError) {
        try fallocate(mode: FALLOC_FL_KEEP_SIZE, offset: offset, length: length)
    }

    /// Frees the memory of bytes [offset, offset + length): it reads zero afterwards, for the guest and any host
    /// mapping (`fallocate(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)`).
    ///
    /// - Throws: `.systemCallFailed("fallocate", errno)`: EINVAL for an offset or length that is not whole pages.
    public func punchHole(offset: UInt64, length: UInt64) throws(KVMError) {
        try fallocate(mode: FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, offset: offset, length: length)
    }

    /// `fallocate(2)` on the file with any mode, for tests of what KVM refuses.
    func fallocate(mode: CInt, offset: UInt64, length: UInt64) throws(KVMError) {
        guard ckvm_fallocate(fileDescriptor, mode, Int64(bitPattern: offset), Int64(bitPattern: length)) == 0 else {
            throw .systemCallFailed(
                operation: "fallocate(\(self), mode \(hex(UInt64(mode))), \(hex(offset)), +\(hex(length)))",
                errno: Errno(rawValue: errno))
        }
    }

    /// Two values are equal when they are the same file.
    public static func == (lhs: GuestMemfd, rhs: GuestMemfd) -> Bool { lhs === rhs }

    public var description: String {
        "guest_memfd \(fileDescriptor) (\(size) bytes, flags \(hex(flags.rawValue)))"
    }
}

extension VirtualMachine {
    /// Creates a guest_memfd of `size` bytes for this VM (`KVM_CREATE_GUEST_MEMFD`; needs `KVM_CAP_GUEST_MEMFD`).
    ///
    /// - Parameters:
    ///   - size: whole pages.
    ///   - flags: from `supportedGuestMemfdFlags`; KVM refuses any other bit with EINVAL.
    /// - Throws: `.ioctlFailed("KVM_CREATE_GUEST_MEMFD", errno)` with KVM's errno (EINVAL for a size that is not whole
    ///   pages, or a flag this VM does not take).
    public func createGuestMemfd(size: UInt64, flags: GuestMemfd.Flags = []) throws(KVMError) -> GuestMemfd {
        var request = kvm_create_guest_memfd()
        request.size = size
        request.flags = flags.rawValue
        var fd: CInt = -1
        // SAFETY: the ioctl reads the struct (which lives for the call) and returns a new file descriptor.
        try withUnsafeMutableBytes(of: &request) { (bytes) throws(KVMError) in
            fd = try kvmIoctl(state.fd, CKVM_CREATE_GUEST_MEMFD, bytes.baseAddress!, "KVM_CREATE_GUEST_MEMFD")
        }
        return GuestMemfd(fileDescriptor: fd, size: size, flags: flags, vmFD: state.fd.rawValue)
    }

    /// The guest_memfd flags this VM accepts (`KVM_CHECK_EXTENSION(KVM_CAP_GUEST_MEMFD_FLAGS)`, Linux 6.18; none on
    /// an older kernel).
    public var supportedGuestMemfdFlags: GuestMemfd.Flags {
        GuestMemfd.Flags(rawValue: UInt64(max(0, check(.guestMemfdFlags))))
    }

    /// Sets the attributes of guest-physical [gpa, gpa + size) (`KVM_SET_MEMORY_ATTRIBUTES`; needs
    /// `KVM_CAP_MEMORY_ATTRIBUTES`, whose value is the attributes this VM takes).
    ///
    /// - Parameters:
    ///   - gpa: page aligned.
    ///   - size: whole pages.
    ///   - attributes: `KVM_MEMORY_ATTRIBUTE_PRIVATE` (the range is private: the guest's accesses go to the slot's
    ///     guest_memfd) or 0 (shared).
    /// - Throws: `.ioctlFailed("KVM_SET_MEMORY_ATTRIBUTES", errno)`: EINVAL for an attribute the VM lacks or an
    ///   unaligned range; ENOTTY where the kernel has no memory attributes.
    public func setMemoryAttributes(gpa: UInt64, size: UInt64, attributes: UInt64) throws(KVMError) {
        var request = kvm_memory_attributes(address: gpa, size: size, attributes: attributes, flags: 0)
        try kvmIoctl(state.fd, CKVM_SET_MEMORY_ATTRIBUTES, &request, "KVM_SET_MEMORY_ATTRIBUTES")
    }
}

extension Capability {
    /// `KVM_CAP_GUEST_MEMFD_FLAGS` (Linux 6.18): the `GUEST_MEMFD_FLAG_*` bits `KVM_CREATE_GUEST_MEMFD` accepts.
    public static let guestMemfdFlags = Capability(rawValue: Int32(KVM_CAP_GUEST_MEMFD_FLAGS))
}
