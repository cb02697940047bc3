#if arch(x86_64)
internal import KVMHarnessStubs

extension VirtualMachine {
    /// Makes interrupts with `vector` (32 to 255: external interrupts, IPIs, the APIC timer, MSIs) call `handler`,
    /// a guest function taking `struct ex_regs *`, instead of reporting UNHANDLED. The handler runs with interrupts
    /// off on the vCPU's interrupt stack and must signal the end of the interrupt itself (`apic_eoi()` in
    /// apic.h); the stub restores the registers and returns with IRETQ. The kernel selftests'
    /// `vm_install_exception_handler` for an interrupt vector.
    public func installInterruptHandler(vector: Int, handler: GuestFunction) throws(KVMError) {
        try checkInterruptVector(vector)
        if !isLoaded(handler.address) { try loadCode(containing: handler.address) }
        try write(handler.address, at: Self.handlerSlot(vector))
    }

    /// Goes back to reporting interrupts with `vector` as UNHANDLED.
    public func removeInterruptHandler(vector: Int) throws(KVMError) {
        try checkInterruptVector(vector)
        try write(UInt64(0), at: Self.handlerSlot(vector))
    }

    private func checkInterruptVector(_ vector: Int) throws(KVMError) {
        guard (32..<256).contains(vector) else {
            throw .invalidArgument("interrupt vector \(vector) is not 32 to 255 (0 to 31 are exceptions: "
                + "installExceptionHandler(vector:handler:))")
        }
    }

    private static func handlerSlot(_ vector: Int) -> UInt64 {
        UInt64(KVMH_DATA_GVA) + UInt64(KVMH_DATA_HANDLERS) + UInt64(vector) * 8
    }
}
#endif
