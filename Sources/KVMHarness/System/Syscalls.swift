import CKVM
import Glibc
import SystemPackage

// Every raw system call the library makes goes through this file, so that error handling is in one place: each
// helper returns the result or throws a KVMError that names the call.

/// Runs a system call that returns -1 and sets errno on failure, retrying on EINTR, and returns its result.
@inline(__always)
func retryingOnInterrupt(_ operation: @autoclosure () -> String, _ body: () -> Int32) throws(KVMError) -> Int32 {
    while true {
        let result = body()
        if result >= 0 { return result }
        let error = Errno(rawValue: Glibc.errno)
        if error == .interrupted { continue }
        throw .ioctlFailed(operation: operation(), errno: error)
    }
}

/// An ioctl with an integer argument, retried on EINTR. Never use it for KVM_RUN, whose EINTR means "kicked".
@inline(__always)
func kvmIoctl(_ fd: FileDescriptor, _ request: UInt, _ argument: UInt = 0, _ name: @autoclosure () -> String)
    throws(KVMError) -> Int32
{
    try retryingOnInterrupt(name(), { ckvm_ioctl_int(fd.rawValue, request, argument) })
}

/// An ioctl with a pointer argument, retried on EINTR.
@inline(__always)
func kvmIoctl(
    _ fd: FileDescriptor, _ request: UInt, _ pointer: UnsafeMutableRawPointer, _ name: @autoclosure () -> String
) throws(KVMError) -> Int32 {
    try retryingOnInterrupt(name(), { ckvm_ioctl_ptr(fd.rawValue, request, pointer) })
}

/// An ioctl that fills or reads a value of type `T`, retried on EINTR.
@inline(__always)
func kvmIoctl<T>(_ fd: FileDescriptor, _ request: UInt, _ value: inout T, _ name: @autoclosure () -> String)
    throws(KVMError)
{
    // SAFETY: `value` is a C struct the ioctl reads or writes in full; the pointer lives for the call only.
    _ = try withUnsafeMutableBytes(of: &value) { (bytes) throws(KVMError) -> Int32 in
        try kvmIoctl(fd, request, bytes.baseAddress!, name())
    }
}

/// Closes a file descriptor the library owns, ignoring errors: there is nothing useful to do about them in deinit.
func closeQuietly(_ fd: FileDescriptor) {
    _ = Glibc.close(fd.rawValue)
}

/// Reads a file descriptor from offset 0 to its end with pread(2), retrying on EINTR, up to `limit` bytes.
func readToEnd(_ fd: FileDescriptor, limit: Int, _ operation: @autoclosure () -> String) throws(KVMError) -> [UInt8] {
    var contents: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 14)
    while contents.count < limit {
        // SAFETY: pread writes at most the buffer's count bytes into it.
        let got = chunk.withUnsafeMutableBytes { pread(fd.rawValue, $0.baseAddress, $0.count, off_t(contents.count)) }
        if got < 0 {
            if Glibc.errno == EINTR { continue }
            throw .systemCallFailed(operation: operation(), errno: Errno(rawValue: Glibc.errno))
        }
        if got == 0 { break }
        contents += chunk[0..<got]
    }
    return contents
}

/// An anonymous, private, lazily backed host mapping, unmapped in deinit. Guest RAM and `kvm_run` live in these.
final class HostMapping: @unchecked Sendable {
    /// First byte of the mapping.
    let base: UnsafeMutableRawPointer
    /// Its length in bytes.
    let size: Int

    /// Maps `size` bytes of zeroed anonymous memory with MAP_NORESERVE: pages are backed on first touch.
    init(anonymous size: Int) throws(KVMError) {
        let pointer = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let pointer, pointer != MAP_FAILED else {
            throw .systemCallFailed(operation: "mmap(\(size) bytes of guest memory)", errno: Errno(rawValue: errno))
        }
        base = pointer
        self.size = size
    }

    /// Maps `size` bytes of a file descriptor shared (used for a vCPU's `kvm_run`).
    init(shared fd: FileDescriptor, size: Int, operation: String) throws(KVMError) {
        let pointer = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.rawValue, 0)
        guard let pointer, pointer != MAP_FAILED else {
            throw .systemCallFailed(operation: operation, errno: Errno(rawValue: errno))
        }
        base = pointer
        self.size = size
    }

    deinit {
        munmap(base, size)
    }
}
