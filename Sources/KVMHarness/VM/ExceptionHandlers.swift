#if arch(x86_64)
// Public: the handler initializer names the guest runtime's `struct ex_regs`, which test authors include in their guest C.
public import KVMHarnessGuest
internal import KVMHarnessStubs

extension VirtualMachine {
    /// Makes guest exceptions with `vector` (0 to 31) call `handler`, a guest function taking `struct ex_regs *`,
    /// instead of reporting UNHANDLED. The handler may change the registers (usually `rip`, to resume past the
    /// faulting instruction); the stub restores them and returns with IRETQ. The kernel selftests'
    /// `vm_install_exception_handler`.
    public func installExceptionHandler(vector: Int, handler: GuestFunction) throws(KVMError) {
        guard (0..<32).contains(vector) else {
            throw .invalidArgument("exception vector \(vector) is not an architectural exception (0 to 31)")
        }
        if !isLoaded(handler.address) { try loadCode(containing: handler.address) }
        try write(handler.address, at: UInt64(KVMH_DATA_GVA) + UInt64(KVMH_DATA_HANDLERS) + UInt64(vector) * 8)
    }

    /// Goes back to reporting exceptions with `vector` as UNHANDLED.
    public func removeExceptionHandler(vector: Int) throws(KVMError) {
        guard (0..<32).contains(vector) else {
            throw .invalidArgument("exception vector \(vector) is not an architectural exception (0 to 31)")
        }
        try write(UInt64(0), at: UInt64(KVMH_DATA_GVA) + UInt64(KVMH_DATA_HANDLERS) + UInt64(vector) * 8)
    }
}

extension GuestFunction {
    /// A C exception handler `void f(struct ex_regs *)`.
    public init(_ function: @convention(c) (UnsafeMutablePointer<ex_regs>?) -> Void) {
        address = UInt64(UInt(bitPattern: unsafeBitCast(function, to: Int.self)))
    }
}
#endif
