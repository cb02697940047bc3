/// A guest entry point: the address of C code that the guest runs, usually a function compiled into the test.
///
/// In-process guest code runs at the same virtual address as in the host, so a C function's host address is its
/// guest address. Arguments go in RDI, RSI, RDX, RCX, R8, R9 (the System V ABI).
///
/// SAFETY (of the initializers): a `@convention(c)` function value is exactly a code pointer, so `unsafeBitCast` to
/// an integer of the same size yields its address; nothing is ever called through it on the host.
public struct GuestFunction: Sendable, Hashable {
    /// The guest-virtual address of the first instruction.
    public var address: UInt64

    /// An entry point at a raw guest-virtual address (for images, or code placed by hand).
    public init(address: UInt64) { self.address = address }

    /// A C function `void f(void)`.
    public init(_ function: @convention(c) () -> Void) { address = UInt64(UInt(bitPattern: unsafeBitCast(function, to: Int.self))) }
    /// A C function `void f(uint64_t)`.
    public init(_ function: @convention(c) (UInt64) -> Void) { address = UInt64(UInt(bitPattern: unsafeBitCast(function, to: Int.self))) }
    /// A C function `void f(uint64_t, uint64_t)`.
    public init(_ function: @convention(c) (UInt64, UInt64) -> Void) { address = UInt64(UInt(bitPattern: unsafeBitCast(function, to: Int.self))) }
    /// A C function `void f(uint64_t, uint64_t, uint64_t)`.
    public init(_ function: @convention(c) (UInt64, UInt64, UInt64) -> Void) { address = UInt64(UInt(bitPattern: unsafeBitCast(function, to: Int.self))) }
    /// A C function `void f(uint64_t, uint64_t, uint64_t, uint64_t)`.
    public init(_ function: @convention(c) (UInt64, UInt64, UInt64, UInt64) -> Void) { address = UInt64(UInt(bitPattern: unsafeBitCast(function, to: Int.self))) }
    /// A C function taking a pointer, `void f(void *)` or `void f(struct ex_regs *)` (exception handlers).
    public init(_ function: @convention(c) (UnsafeMutableRawPointer?) -> Void) { address = UInt64(UInt(bitPattern: unsafeBitCast(function, to: Int.self))) }
}
