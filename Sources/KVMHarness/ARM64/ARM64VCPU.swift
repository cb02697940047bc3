#if arch(arm64)
internal import CKVM
internal import KVMHarnessStubs

/// One vCPU's part of the harness's reserved region on arm64: its exception stack (SP_EL1) and its stack (SP_EL0),
/// each with an unmapped guard page below it.
struct EL1Block {
    let base: UInt64
    var exceptionStack: UInt64 { base + UInt64(KVMH_VCPU_EXCEPTION_STACK) }
    var exceptionStackTop: UInt64 { exceptionStack + UInt64(KVMH_VCPU_EXCEPTION_STACK_SIZE) }
    var stack: UInt64 { base + UInt64(KVMH_VCPU_STACK) }
    var stackTop: UInt64 { stack + UInt64(KVMH_VCPU_STACK_SIZE) }

    init(index: Int) { base = UInt64(KVMH_VCPU_BASE) + UInt64(index) * UInt64(KVMH_VCPU_STRIDE) }
}

extension VirtualMachine {
    /// The guest-virtual address of vCPU `index`'s block in the reserved region.
    static func vcpuBlock(_ index: Int) -> UInt64 { EL1Block(index: index).base }

    /// Maps vCPU `index`'s stacks.
    func allocateEL1Block(index: Int) throws(KVMError) -> EL1Block {
        let block = EL1Block(index: index)
        try allocate(gva: block.exceptionStack, size: UInt64(KVMH_VCPU_EXCEPTION_STACK_SIZE))
        try allocate(gva: block.stack, size: UInt64(KVMH_VCPU_STACK_SIZE))
        return block
    }

    /// Makes `vcpu` an AArch64 vCPU of the host's preferred type (`KVM_ARM_PREFERRED_TARGET` then
    /// `KVM_ARM_VCPU_INIT`, which must come before any register is touched) and points it at `entryAddress` at
    /// EL1 with the MMU on: the harness's stage-1 tables in TTBR0_EL1 (TTBR1 walks off), its MAIR and TCR, the
    /// vector table in VBAR_EL1, FP/SIMD not trapped, then SCTLR_EL1 with M, C and I. The guest runs in EL1t on its
    /// own stack (SP_EL0), so exceptions, taken in EL1h, land on the exception stack (SP_EL1) even when the guest
    /// stack is broken. `arguments` go in x0 to x7, and x30 (the return address) is the entry-returned stub.
    func enterEL1(_ vcpu: VCPU, block: EL1Block, entryAddress: UInt64, arguments: [UInt64]) throws(KVMError) {
        var target = kvm_vcpu_init()
        try kvmIoctl(state.fd, CKVM_ARM_PREFERRED_TARGET, &target, "KVM_ARM_PREFERRED_TARGET")
        try kvmIoctl(vcpu.fd, CKVM_ARM_VCPU_INIT, &target, "KVM_ARM_VCPU_INIT")

        let root = pageTables.root
        try vcpu.setRegister(ARM64Registers.mairEL1, ARM64Registers.mair)
        try vcpu.setRegister(
            ARM64Registers.tcrEL1,
            ARM64Registers.tcr(
                virtualAddressBits: pageTables.virtualAddressBits, physicalAddressBits: physicalAddressBits))
        try vcpu.setRegister(ARM64Registers.ttbr0EL1, root)
        try vcpu.setRegister(ARM64Registers.vbarEL1, Self.vectorTableAddress)
        try vcpu.setRegister(ARM64Registers.cpacrEL1, ARM64Registers.cpacr)
        try vcpu.setRegister(ARM64Registers.sctlrEL1, ARM64Registers.sctlr)

        try vcpu.setRegister(ARM64Registers.spEL1, block.exceptionStackTop)
        try vcpu.setRegister(ARM64Registers.sp, block.stackTop)
        try vcpu.setRegister(ARM64Registers.pstate, ARM64Registers.pstateEL1tMasked)
        try vcpu.setRegister(ARM64Registers.pc, entryAddress)
        for (index, value) in arguments.enumerated() { try vcpu.setRegister(ARM64Registers.x(index), value) }
        try vcpu.setRegister(ARM64Registers.x(30), Self.entryReturnedAddress)
    }

    /// The vector table's guest-virtual address: inside the stubs, at a 2 KiB-aligned offset.
    static var vectorTableAddress: UInt64 { UInt64(KVMH_STUBS_GVA) + UInt64(KVMH_A64_VECTORS_OFFSET) }

    /// Lets a store the syndrome cannot describe exit to the host as `KVM_EXIT_ARM_NISV` (so a ucall made with a
    /// store pair is a typed error) instead of failing `KVM_RUN` with ENOSYS; a no-op where KVM cannot.
    func enableNoSyndromeExits() throws(KVMError) {
        guard kvm.has(.armNISVToUser) else { return }
        try enableCapability(.armNISVToUser)
    }
}

// The arm64 parts of a vCPU: registers by id, and what the ucall path needs (TTBR0_EL1 for the walk, the exception
// level for the access check).
extension VCPU {
    /// One register by its `KVM_GET_ONE_REG` id (64-bit registers; `ARM64Registers` has the ids).
    public func register(_ id: UInt64) throws(KVMError) -> UInt64 {
        var value: UInt64 = 0
        try withUnsafeMutablePointer(to: &value) { (pointer) throws(KVMError) in
            var request = kvm_one_reg(id: id, addr: UInt64(UInt(bitPattern: pointer)))
            try kvmIoctl(fd, CKVM_GET_ONE_REG, &request, "KVM_GET_ONE_REG (\(hex(id)))")
        }
        return value
    }

    /// Sets one 64-bit register by its `KVM_SET_ONE_REG` id.
    public func setRegister(_ id: UInt64, _ value: UInt64) throws(KVMError) {
        var copy = value
        try withUnsafeMutablePointer(to: &copy) { (pointer) throws(KVMError) in
            var request = kvm_one_reg(id: id, addr: UInt64(UInt(bitPattern: pointer)))
            try kvmIoctl(fd, CKVM_SET_ONE_REG, &request, "KVM_SET_ONE_REG (\(hex(id)))")
        }
    }

    /// The core registers x0 to x30, SP_EL0, PC and PSTATE, read one by one (arm64 KVM has no `KVM_GET_REGS`).
    public func registers() throws(KVMError) -> kvm_regs {
        var regs = kvm_regs()
        try withUnsafeMutableBytes(of: &regs.regs.regs) { (bytes) throws(KVMError) in
            for index in 0..<31 { bytes.storeBytes(of: try register(ARM64Registers.x(index)), toByteOffset: index * 8, as: UInt64.self) }
        }
        regs.regs.sp = try register(ARM64Registers.sp)
        regs.regs.pc = try register(ARM64Registers.pc)
        regs.regs.pstate = try register(ARM64Registers.pstate)
        return regs
    }

    /// The registers at the last exit (zeros if they cannot be read).
    public var lastExitRegisters: kvm_regs { (try? registers()) ?? kvm_regs() }

    /// TTBR0_EL1 at the exit and whether the guest was at EL0, for the ucall walk. Two `KVM_GET_ONE_REG`s a ucall:
    /// arm64 KVM has no copy of the registers in `kvm_run`.
    @inline(__always)
    func translationAtExit() throws(KVMError) -> (root: UInt64, userMode: Bool) {
        let ttbr = try register(ARM64Registers.ttbr0EL1)
        let pstate = try register(ARM64Registers.pstate)
        return (ttbr, pstate & 0xf == 0)
    }

    /// PC at the last exit (0 if it cannot be read), for error messages.
    var programCounterAtLastExit: UInt64 { (try? register(ARM64Registers.pc)) ?? 0 }
}
#endif

#if arch(arm64)
extension VirtualMachine {
    /// KVM's default IPA size on arm64, for VM type 0.
    static let defaultIPABits = 40

    /// The `KVM_CREATE_VM` type for an IPA size (`KVM_VM_TYPE_ARM_IPA_SIZE(bits)`, 0 for the default) and the size.
    ///
    /// - Throws: `.invalidArgument` for a size below 32 bits or above what the host offers
    ///   (`KVM_CAP_ARM_VM_IPA_SIZE`, 40 when it reports 0).
    static func armVMType(ipaBits: Int?, kvm: KVM) throws(KVMError) -> (type: UInt, bits: Int) {
        guard let ipaBits else { return (0, defaultIPABits) }
        let maximum = max(Int(kvm.check(.armVMIPASize)), defaultIPABits)
        guard ipaBits >= 32, ipaBits <= maximum else {
            throw .invalidArgument(
                "an IPA size of \(ipaBits) bits is outside what this host offers (32 to \(maximum) bits, "
                    + "KVM_CAP_ARM_VM_IPA_SIZE): choose one in that range")
        }
        return (UInt(ipaBits) & 0xff, ipaBits)
    }
}
#endif
