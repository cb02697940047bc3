#if arch(x86_64)
internal import CKVM
internal import KVMHarnessStubs

/// Where one vCPU's own structures are, in the reserved region (`KVMH_VCPU_*` in kvmh_layout.h).
struct LongModeBlock {
    /// The block's base: `KVMH_VCPU_BASE + index * KVMH_VCPU_STRIDE`.
    let base: UInt64
    var gdt: UInt64 { base + UInt64(KVMH_VCPU_GDT) }
    var tss: UInt64 { base + UInt64(KVMH_VCPU_TSS) }
    var tls: UInt64 { base + UInt64(KVMH_VCPU_TLS) }
    var exceptionStack: UInt64 { base + UInt64(KVMH_VCPU_EXCEPTION_STACK) }
    var exceptionStackTop: UInt64 { exceptionStack + UInt64(KVMH_VCPU_EXCEPTION_STACK_SIZE) }
    var interruptStack: UInt64 { base + UInt64(KVMH_VCPU_INTERRUPT_STACK) }
    var interruptStackTop: UInt64 { interruptStack + UInt64(KVMH_VCPU_INTERRUPT_STACK_SIZE) }
    var stack: UInt64 { base + UInt64(KVMH_VCPU_STACK) }
    var stackTop: UInt64 { stack + UInt64(KVMH_VCPU_STACK_SIZE) }

    init(index: Int) { base = UInt64(KVMH_VCPU_BASE) + UInt64(index) * UInt64(KVMH_VCPU_STRIDE) }
}

extension VirtualMachine {
    /// The canary the stack protector finds at %fs:0x28 in the guest ("KVMHarns").
    static let stackCanary: UInt64 = 0x736e_7261_484d_564b

    /// The guest-virtual address of vCPU `index`'s block in the reserved region.
    static func vcpuBlock(_ index: Int) -> UInt64 { LongModeBlock(index: index).base }

    /// Allocates and fills vCPU `index`'s GDT, TSS, TLS page (%fs:0 points to itself, as a TCB does, and the stack
    /// canary is at %fs:0x28), exception and interrupt stacks and stack, whose top holds the entry-returned stub's address.
    func allocateLongModeBlock(index: Int) throws(KVMError) -> LongModeBlock {
        let block = LongModeBlock(index: index)
        try allocate(gva: block.gdt, size: 4096)
        try write(contentsOf: LongMode.gdt(tssBase: block.tss), at: block.gdt)
        try allocate(gva: block.tss, size: 4096)
        let tss = LongMode.tss(exceptionStackTop: block.exceptionStackTop, interruptStackTop: block.interruptStackTop)
        try write(contentsOf: tss, at: block.tss)
        try allocate(gva: block.tls, size: 4096)
        try write(block.tls, at: block.tls)
        try write(Self.stackCanary, at: block.tls + 0x28)
        try allocate(gva: block.exceptionStack, size: UInt64(KVMH_VCPU_EXCEPTION_STACK_SIZE))
        try allocate(gva: block.interruptStack, size: UInt64(KVMH_VCPU_INTERRUPT_STACK_SIZE))
        try allocate(gva: block.stack, size: UInt64(KVMH_VCPU_STACK_SIZE))
        try write(Self.entryReturnedAddress, at: block.stackTop - 8)
        return block
    }

    /// Puts a new vCPU in 64-bit mode at CPL0 with interrupts off, at `entryAddress` with `arguments` in RDI, RSI,
    /// RDX, RCX, R8, R9 (at most six).
    ///
    /// The order of the ioctls matters: `KVM_SET_CPUID2` first (it sets the guest's MAXPHYADDR, which the
    /// page-table checks of `KVM_SET_SREGS` follow), then `KVM_SET_SREGS`, `KVM_SET_XCRS`, `KVM_SET_REGS`, and,
    /// with an in-kernel local APIC, `KVM_SET_MP_STATE` (runnable).
    func enterLongMode(_ vcpu: VCPU, block: LongModeBlock, entryAddress: UInt64, arguments: [UInt64])
        throws(KVMError)
    {
        let cpuid = kvm.supportedCPUID
        try vcpu.setCPUID(cpuid.withAPICID(UInt32(vcpu.index)))
        let xsave = cpuid.hasXSAVE && kvm.has(.xcrs)
        var sregs = try vcpu.specialRegisters()
        LongMode.configure(
            &sregs, cr3: pageTables.root, gdtBase: block.gdt, tssBase: block.tss, fsBase: block.tls, xsave: xsave)
        try vcpu.setSpecialRegisters(sregs)
        if xsave {
            // x87 and SSE always; AVX where the CPU has it. Larger state components stay off.
            try vcpu.setXCR0(cpuid.supportedXCR0 & 0x7 | 0x3)
        }
        var regs = kvm_regs()
        regs.rip = entryAddress
        regs.rsp = block.stackTop - 8
        regs.rflags = 0x2
        let values = arguments + [UInt64](repeating: 0, count: 6 - arguments.count)
        regs.rdi = values[0]
        regs.rsi = values[1]
        regs.rdx = values[2]
        regs.rcx = values[3]
        regs.r8 = values[4]
        regs.r9 = values[5]
        try vcpu.setRegisters(regs)
        // With an in-kernel local APIC, KVM makes every vCPU but the boot one wait for INIT/SIPI, as an AP does.
        if state.interruptController.hasLocalAPIC { try vcpu.setMPState(UInt32(KVM_MP_STATE_RUNNABLE)) }
    }
}
#endif
