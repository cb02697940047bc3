// Guest exception handlers: a guest installs them itself, by writing the handler table the harness's exception
// stubs read (KVMH_DATA_GVA + KVMH_DATA_HANDLERS, one address per vector; kvmh_layout.h). The host-side
// equivalent for in-process C guests is VirtualMachine.installExceptionHandler(vector:handler:).
import KVMHarnessSwiftGuestRuntime

/// The registers at an exception as the harness's stubs saved them (`struct ex_regs`). A handler may change them,
/// usually `rip` to resume past the faulting instruction; the stub restores them and returns with IRETQ. A file that
/// reads or writes its fields imports `KVMHarnessSwiftGuestRuntime` (Embedded Swift wants the C module imported
/// where a C struct's fields are used).
public typealias GuestExceptionRegisters = ex_regs

/// An exception handler: a C-convention function, so that the harness's stubs can call it.
public typealias GuestExceptionHandler = @convention(c) (UnsafeMutablePointer<GuestExceptionRegisters>?) -> Void

/// Makes exceptions with `vector` (0 to 31) call `handler` on this VM's vCPUs instead of reporting UNHANDLED; nil
/// restores UNHANDLED. The kernel selftests' `vm_install_exception_handler`, from inside the guest.
public func guestInstallExceptionHandler(vector: Int, _ handler: GuestExceptionHandler?) {
    guestAssert(vector >= 0 && vector < 32, "exception vector \(vector) is not an architectural exception (0 to 31)")
    // SAFETY: a @convention(c) function value is a bare code pointer, the size of an Int.
    let address = handler.map { UInt64(UInt(bitPattern: unsafeBitCast($0, to: Int.self))) } ?? 0
    let table = UInt(KVMH_DATA_GVA) + UInt(KVMH_DATA_HANDLERS)
    // SAFETY: the harness maps its data page writable at KVMH_DATA_GVA in every VM (docs/guest-image-abi.md), and
    // the handler table holds 32 u64 entries at KVMH_DATA_HANDLERS.
    let entry = UnsafeMutablePointer<UInt64>(bitPattern: table + UInt(vector) * 8)!
    entry.pointee = address
}

/// Executes UD2, raising #UD (vector 6): for guests that test their exception handlers.
@inline(__always)
public func guestUndefinedInstruction() { kvmh_ud2() }
