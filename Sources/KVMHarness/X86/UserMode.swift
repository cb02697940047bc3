#if arch(x86_64)
internal import CKVM
internal import KVMHarnessGuest
internal import KVMHarnessStubs

/// What user mode (CPL3) needs on x86-64: user segments in the GDT, SYSRET to get there, the #UD gate to come
/// back, an I/O permission bitmap for the ucall port, a user stack per vCPU, and user-accessible mappings
/// (`user_mode.h` has the guest's side and says why SYSRET in and a gate back out).
enum UserMode {
    /// The exception vector of the way back to CPL0: #UD.
    static let returnVector: UInt64 = 6
    /// `IA32_STAR`.
    static let starMSR: UInt32 = 0xc000_0081
    /// EFER.SCE: SYSCALL and SYSRET enabled.
    static let eferSCE: UInt64 = 1 << 0
    /// STAR: SYSRET to 64-bit mode loads CS 0x28+16 and SS 0x28+8, with RPL 3 (`GUEST_USER_CODE_SELECTOR`,
    /// `GUEST_USER_DATA_SELECTOR`); SYSCALL would load the kernel's CS 0x08 and SS 0x10.
    static let star: UInt64 = 0x28 << 48 | UInt64(LongMode.codeSelector) << 32
    /// The I/O permission bitmap after the 104-byte TSS (its I/O map base is 0x68 already): one bit per port up to
    /// the ucall port, all set (refused) except the ucall port's, then the 0xff byte the CPU needs after the last.
    static var ioBitmap: [UInt8] {
        let port = Int(UCALL_PIO_PORT)
        var bytes = [UInt8](repeating: 0xff, count: port / 8 + 2)
        bytes[port / 8] &= ~UInt8(1 << (port % 8))
        return bytes
    }
    /// The TSS limit with the bitmap.
    static var tssLimit: UInt32 { LongMode.tssLimit + UInt32(ioBitmap.count) }
    /// The GDT entries after the kernel's (null, code, data, the 16-byte TSS): an unused slot at 0x28, user data at
    /// 0x30 (DPL3, writable), user 64-bit code at 0x38 (DPL3, L=1).
    static let userDescriptors: [UInt64] = [0, 0x00cf_f300_0000_ffff, 0x00af_fb00_0000_ffff]
    static let gdtLimit: UInt16 = 8 * 8 - 1
    /// The user stack inside a vCPU's block (`KVMH_VCPU_*`): 48 KiB above an unmapped guard page.
    static let stackOffset: UInt64 = 0x32000
    static let stackSize: UInt64 = 0xc000
}

extension PageTables {
    /// Sets U/S in every entry on the walk to `gva` (which must be mapped), so that CPL3 may access its page.
    package func allowUserAccess(gva: UInt64, memory: some PhysicalMemory) throws(KVMError) {
        let mask = Self.addressMask(physicalAddressBits: physicalAddressBits)
        var table = root
        for level in stride(from: 4, through: 1, by: -1) {
            let slot = table + Self.index(gva, level: level) * 8
            guard let entry = memory.readU64(gpa: slot) else { throw .guestAddressOutsideMemory(gva: gva, gpa: slot) }
            guard entry & PageTableFlags.present.rawValue != 0 else { throw .unmappedGuestAddress(gva: gva) }
            guard memory.writeU64(gpa: slot, entry | PageTableFlags.user.rawValue) else {
                throw .guestAddressOutsideMemory(gva: gva, gpa: slot)
            }
            if level == 1 || (level <= 3 && entry & PageTableFlags.largePage.rawValue != 0) { return }
            table = entry & mask
        }
    }
}

extension VirtualMachine {
    /// Makes the mapped pages of [gva, gva + size) accessible to guest user mode (CPL3): sets the user/supervisor
    /// bit on every level of their walk in the harness's page tables. Pages stay supervisor-only otherwise.
    ///
    /// - Throws: `.unmappedGuestAddress` for a page that is not mapped.
    public func allowUserAccess(gva: UInt64, size: UInt64) throws(KVMError) {
        var page = gva.roundedDown(to: 4096)
        while page < gva + size {
            try pageTables.allowUserAccess(gva: page, memory: state.memslots)
            page += 4096
        }
    }

    /// Prepares the VM's vCPUs to run guest code at CPL3 with `guest_run_user` (`user_mode.h`): for each vCPU, user
    /// code and data segments in its GDT, EFER.SCE and STAR for SYSRET, an I/O permission bitmap in its TSS that
    /// allows the ucall port, and a 48 KiB user stack; the #UD gate pointed at `guest_user_return_entry`, the way
    /// back to CPL0 (which passes every other #UD on to the harness's stub); and it makes the in-process code and
    /// data loaded into the VM and the ucall page user-accessible, so user code can run, read its globals and make
    /// ucalls over both transports. Everything
    /// else the harness maps (its stubs, GDT, IDT, TSS, the kernel stacks, and memory from `allocate`) stays
    /// supervisor-only. Call it after adding the vCPUs and before running them.
    ///
    /// - Throws: `.invalidArgument` if the code of the guest runtime is not loaded, or an ioctl's error.
    public func enableUserMode() throws(KVMError) {
        let entry = GuestFunction(guest_user_return_entry).address
        guard loadedRanges.contains(where: { entry >= $0.address && entry - $0.address < $0.size }) else {
            throw .invalidArgument(
                "user mode needs the guest runtime's code in the VM: load in-process guest code first")
        }
        for run in loadedRanges { try allowUserAccess(gva: run.address, size: run.size) }
        try allowUserAccess(gva: ucallAddress, size: 8)
        for vcpu in vcpus {
            let block = LongModeBlock(index: vcpu.index)
            let stack = block.base + UserMode.stackOffset
            try allocate(gva: stack, size: UserMode.stackSize)
            try allowUserAccess(gva: stack, size: UserMode.stackSize)
            try write(stack + UserMode.stackSize, at: block.tls + UInt64(GUEST_TLS_USER_STACK))
            try write(contentsOf: UserMode.userDescriptors, at: block.gdt + 0x28)
            try write(contentsOf: UserMode.ioBitmap, at: block.tss + UInt64(LongMode.tssLimit) + 1)
            let tssDescriptorGVA = block.gdt + UInt64(LongMode.tssSelector)
            let tssDescriptor = try read(UInt64.self, at: tssDescriptorGVA)
            try write(tssDescriptor & ~0xffff | UInt64(UserMode.tssLimit & 0xffff), at: tssDescriptorGVA)
            var sregs = try vcpu.specialRegisters()
            sregs.gdt.limit = UserMode.gdtLimit
            sregs.efer |= UserMode.eferSCE
            sregs.tr.limit = UserMode.tssLimit
            try vcpu.setSpecialRegisters(sregs)
            try vcpu.setMSR(UserMode.starMSR, to: UserMode.star)
        }
        // The way back: the #UD gate, on the exception stack like every other (user_mode.h says why not SYSCALL or
        // INT n); its entry hands every #UD but the trampoline's to the harness's stub.
        let gate = LongMode.interruptGate(handler: entry)
        try write(contentsOf: [gate.0, gate.1], at: UInt64(KVMH_IDT_GVA) + UserMode.returnVector * 16)
    }
}
#endif
