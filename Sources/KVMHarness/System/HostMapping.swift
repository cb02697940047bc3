import Glibc
import SystemPackage

/// A host memory mapping the library owns, unmapped in deinit. Guest RAM and each vCPU's `kvm_run` live in these.
final class HostMapping: @unchecked Sendable {
    // Sendable: `base` and `size` never change after init; what is in the mapping is guest memory or kvm_run, whose
    // readers and writers synchronize among themselves (see VCPU and VirtualMachine).

    /// First byte of the mapping.
    let base: UnsafeMutableRawPointer
    /// Its length in bytes.
    let size: Int

    /// Maps `size` bytes of zeroed anonymous memory with MAP_NORESERVE: pages are backed on first touch.
    init(anonymous size: Int) throws(KVMError) {
        guard let pointer = system_mmap(size: size, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, fd: -1) else {
            throw .systemCallFailed(operation: "mmap(\(size) bytes of guest memory)", errno: Errno(rawValue: errno))
        }
        base = pointer
        self.size = size
    }

    /// Maps `size` bytes of a file descriptor shared (used for a vCPU's `kvm_run`).
    init(shared fd: FileDescriptor, size: Int, operation: String) throws(KVMError) {
        guard let pointer = system_mmap(size: size, flags: MAP_SHARED, fd: fd.rawValue) else {
            throw .systemCallFailed(operation: operation, errno: Errno(rawValue: errno))
        }
        base = pointer
        self.size = size
    }

    /// Takes ownership of a mapping made elsewhere (`base`, `size` bytes): it is unmapped in deinit.
    init(adopting base: UnsafeMutableRawPointer, size: Int) {
        self.base = base
        self.size = size
    }

    deinit {
        _ = system_munmap(base, size)
    }
}
