internal import CKVM
import Glibc
internal import Synchronization
import SystemPackage

// Every raw system call the library makes goes through one `system_*` function in this file, as in swift-system:
// error handling is in one place, and a test can put itself between the library and the kernel (`SyscallSeam`) to
// exercise error paths (EINTR, E2BIG, a failure at each step of making a VM) without the kernel producing them.

/// A system call as the seam sees it: what is being called, with the arguments a test needs to decide on it.
package enum SystemCall: Sendable {
    /// `open(path, flags)`.
    case open(path: String)
    /// `close(fd)`.
    case close(fd: CInt)
    /// `ioctl(fd, request, argument)`; `argument` is the integer or the pointer's address.
    case ioctl(fd: CInt, request: UInt, argument: UInt)
    /// `mmap` of `size` bytes, of `fd` or anonymous (`fd` -1).
    case mmap(size: Int, fd: CInt)
    /// `munmap` of `size` bytes.
    case munmap(size: Int)
    /// `read(fd, _, count)`.
    case read(fd: CInt, count: Int)
    /// `pthread_create`.
    case pthreadCreate

    /// The call's name, as error messages spell it.
    package var name: String {
        switch self {
        case .open: "open"
        case .close: "close"
        case .ioctl: "ioctl"
        case .mmap: "mmap"
        case .munmap: "munmap"
        case .read: "read"
        case .pthreadCreate: "pthread_create"
        }
    }
}

/// What a test's interposer does with one call.
package enum InterposedResult: Sendable {
    /// Fail the call with this errno, without making it.
    case fail(Errno)
    /// Return this value without making the call (the interposer has filled any output itself).
    case succeed(Int)
}

/// The test seam: a test runs code under an interposer that sees every system call the library makes on that task
/// and may fail it or answer it; `nil` lets the real call happen.
///
/// Scoped to the task (`@TaskLocal`), so a test that interposes does not disturb tests running beside it. Threads
/// the library starts (vCPU threads) are not in the task and always reach the kernel. When no test interposes
/// anywhere, each call costs one relaxed atomic load more than the raw call.
package enum SyscallSeam {
    /// Decides on one call; `nil` means "make the real call". The raw pointer of an `ioctl` is in `pointer`.
    package typealias Interposer =
        @Sendable (_ call: SystemCall, _ pointer: UnsafeMutableRawPointer?) -> InterposedResult?

    @TaskLocal private static var interposer: Interposer?
    private static let interposing = Atomic<Int>(0)

    /// Runs `body` with `interposer` in front of the kernel for this task's system calls.
    package static func withInterposer<R>(_ interposer: @escaping Interposer, _ body: () throws -> R) rethrows -> R {
        interposing.add(1, ordering: .sequentiallyConsistent)
        defer { interposing.subtract(1, ordering: .sequentiallyConsistent) }
        return try $interposer.withValue(interposer, operation: body)
    }

    /// What the current task's interposer says about `call`, or nil for the real call.
    @inline(__always)
    static func intercept(_ call: @autoclosure () -> SystemCall, _ pointer: UnsafeMutableRawPointer? = nil)
        -> InterposedResult?
    {
        guard _slowPath(interposing.load(ordering: .relaxed) != 0), let interposer else { return nil }
        return interposer(call(), pointer)
    }
}

/// Applies an interposer's answer as the real call would report it: the value, or -1 with errno set.
@inline(__always)
private func answer(_ result: InterposedResult) -> Int {
    switch result {
    case .fail(let error):
        Glibc.errno = error.rawValue
        return -1
    case .succeed(let value):
        return value
    }
}

// MARK: - The raw calls

/// `open(2)`.
func system_open(_ path: String, _ flags: CInt) -> CInt {
    if let result = SyscallSeam.intercept(.open(path: path)) { return CInt(answer(result)) }
    return Glibc.open(path, flags)
}

/// `close(2)`.
func system_close(_ fd: CInt) -> CInt {
    if let result = SyscallSeam.intercept(.close(fd: fd)) { return CInt(answer(result)) }
    return Glibc.close(fd)
}

/// `ioctl(2)` with an integer argument (or none: 0).
@inline(__always)
func system_ioctl(_ fd: CInt, _ request: UInt, _ argument: UInt) -> CInt {
    if let result = SyscallSeam.intercept(.ioctl(fd: fd, request: request, argument: argument)) {
        return CInt(answer(result))
    }
    return ckvm_ioctl_int(fd, request, argument)
}

/// `ioctl(2)` with a pointer argument.
@inline(__always)
func system_ioctl(_ fd: CInt, _ request: UInt, _ pointer: UnsafeMutableRawPointer) -> CInt {
    if let result = SyscallSeam.intercept(
        .ioctl(fd: fd, request: request, argument: UInt(bitPattern: pointer)), pointer)
    {
        return CInt(answer(result))
    }
    return ckvm_ioctl_ptr(fd, request, pointer)
}

/// `mmap(2)` of `size` bytes, readable and writable; nil on failure, with errno set.
func system_mmap(size: Int, flags: CInt, fd: CInt) -> UnsafeMutableRawPointer? {
    if let result = SyscallSeam.intercept(.mmap(size: size, fd: fd)) {
        _ = answer(result)
        return nil  // an interposer can only fail an mmap: it has no memory to hand out
    }
    let pointer = Glibc.mmap(nil, size, PROT_READ | PROT_WRITE, flags, fd, 0)
    return pointer == MAP_FAILED ? nil : pointer
}

/// `mmap(2)` of `size` bytes of `fd` from `offset`, shared, with `protection`; nil on failure, with errno set.
func system_mmap(size: Int, protection: CInt, fd: CInt, offset: Int) -> UnsafeMutableRawPointer? {
    if let result = SyscallSeam.intercept(.mmap(size: size, fd: fd)) {
        _ = answer(result)
        return nil
    }
    let pointer = Glibc.mmap(nil, size, protection, MAP_SHARED, fd, off_t(offset))
    return pointer == MAP_FAILED ? nil : pointer
}

/// `munmap(2)`.
func system_munmap(_ address: UnsafeMutableRawPointer, _ size: Int) -> CInt {
    if let result = SyscallSeam.intercept(.munmap(size: size)) { return CInt(answer(result)) }
    return Glibc.munmap(address, size)
}

/// `read(2)`.
func system_read(_ fd: CInt, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    if let result = SyscallSeam.intercept(.read(fd: fd, count: count), buffer) { return answer(result) }
    return Glibc.read(fd, buffer, count)
}

/// `pthread_create(3)` with default attributes; returns 0 or the error number (it does not set errno).
func system_pthread_create(
    _ thread: inout pthread_t, _ start: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?,
    _ context: UnsafeMutableRawPointer
) -> CInt {
    if let result = SyscallSeam.intercept(.pthreadCreate) {
        if case .fail(let error) = result { return error.rawValue }
    }
    return pthread_create(&thread, nil, start, context)
}

// MARK: - Helpers over the raw calls

/// Runs a system call that returns -1 and sets errno on failure, retrying on EINTR, and returns its result.
@inline(__always)
func retryingOnInterrupt(_ operation: @autoclosure () -> String, _ body: () -> CInt) throws(KVMError) -> CInt {
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
    throws(KVMError) -> CInt
{
    try retryingOnInterrupt(name(), { system_ioctl(fd.rawValue, request, argument) })
}

/// An ioctl with a pointer argument, retried on EINTR.
@inline(__always)
func kvmIoctl(
    _ fd: FileDescriptor, _ request: UInt, _ pointer: UnsafeMutableRawPointer, _ name: @autoclosure () -> String
) throws(KVMError) -> CInt {
    try retryingOnInterrupt(name(), { system_ioctl(fd.rawValue, request, pointer) })
}

/// An ioctl that fills or reads a value of type `T`, retried on EINTR.
@inline(__always)
func kvmIoctl<T>(_ fd: FileDescriptor, _ request: UInt, _ value: inout T, _ name: @autoclosure () -> String)
    throws(KVMError)
{
    // SAFETY: `value` is a C struct the ioctl reads or writes in full; the pointer lives for the call only.
    _ = try withUnsafeMutableBytes(of: &value) { (bytes) throws(KVMError) -> CInt in
        try kvmIoctl(fd, request, bytes.baseAddress!, name())
    }
}

/// An ioctl that fills or reads a byte buffer (a struct with a variable-length tail), retried on EINTR.
func kvmIoctl(_ fd: FileDescriptor, _ request: UInt, _ buffer: inout [UInt8], _ name: @autoclosure () -> String)
    throws(KVMError) -> CInt
{
    // SAFETY: the ioctl reads or writes at most the buffer's bytes (callers size it as the ioctl requires); the
    // pointer lives for the call only.
    let outcome: Result<CInt, KVMError> = buffer.withUnsafeMutableBytes { bytes in
        Result { () throws(KVMError) in try kvmIoctl(fd, request, bytes.baseAddress!, name()) }
    }
    return try outcome.get()
}

/// Closes a file descriptor the library owns, ignoring errors: there is nothing useful to do about them in deinit
/// (and close must not be retried on EINTR on Linux: the descriptor is gone either way).
func closeQuietly(_ fd: FileDescriptor) {
    _ = system_close(fd.rawValue)
}

/// Reads a freshly opened file descriptor to its end, retrying on EINTR; more than `limit` bytes is an error (a
/// misbehaving file must not make the host read forever or exhaust memory).
///
/// - Throws: `.systemCallFailed(operation)` with read's errno, or with EFBIG past `limit`.
func readToEnd(_ fd: FileDescriptor, limit: Int, _ operation: @autoclosure () -> String) throws(KVMError) -> [UInt8] {
    var contents: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        // SAFETY: read writes at most the buffer's count bytes into it.
        let got = chunk.withUnsafeMutableBytes { system_read(fd.rawValue, $0.baseAddress!, $0.count) }
        if got < 0 {
            if Glibc.errno == EINTR { continue }
            throw .systemCallFailed(operation: operation(), errno: Errno(rawValue: Glibc.errno))
        }
        if got == 0 { return contents }
        guard contents.count + got <= limit else {
            throw .systemCallFailed(operation: operation(), errno: .fileTooLarge)
        }
        contents += chunk[0..<got]
    }
}

/// Opens `path` read-only and reads it whole (see `readToEnd`).
func readFile(atPath path: String, limit: Int) throws(KVMError) -> [UInt8] {
    var raw: CInt
    repeat { raw = system_open(path, O_RDONLY | O_CLOEXEC) } while raw < 0 && Glibc.errno == EINTR
    guard raw >= 0 else { throw .systemCallFailed(operation: "open(\(path))", errno: Errno(rawValue: Glibc.errno)) }
    let fd = FileDescriptor(rawValue: raw)
    defer { closeQuietly(fd) }
    return try readToEnd(fd, limit: limit, "read(\(path))")
}
