#if arch(x86_64)
internal import CKVM
internal import KVMHarnessStubs

/// The x86-64 CPU state the harness gives every vCPU: 64-bit long mode at CPL0, as the kernel selftests set it up.
///
/// CR0.PE|MP|ET|NE|WP|PG, CR4.PAE|OSFXSR|OSXMMEXCPT (and OSXSAVE with XSAVE), EFER.LME|LMA|NXE, flat code and data
/// segments from a GDT, a 64-bit TSS whose IST1 is the exception stack, and the harness's IDT. Everything here is a
/// pure function of its arguments; the ioctls that give a vCPU this state are in `LongModeVCPU.swift`.
enum LongMode {
    /// GDT selectors.
    static let codeSelector: UInt16 = 0x08
    static let dataSelector: UInt16 = 0x10
    static let tssSelector: UInt16 = 0x18
    /// GDT size: null, code, data, and the 16-byte TSS descriptor.
    static let gdtLimit: UInt16 = 5 * 8 - 1
    /// 64-bit TSS size minus one (no I/O permission bitmap).
    static let tssLimit: UInt32 = 0x67
    static let idtLimit: UInt16 = 256 * 16 - 1

    static let cr0: UInt64 = 1 << 0 | 1 << 1 | 1 << 4 | 1 << 5 | 1 << 16 | 1 << 31  // PE MP ET NE WP PG
    static let cr4Base: UInt64 = 1 << 5 | 1 << 9 | 1 << 10  // PAE OSFXSR OSXMMEXCPT
    static let cr4OSXSAVE: UInt64 = 1 << 18
    static let efer: UInt64 = 1 << 8 | 1 << 10 | 1 << 11  // LME LMA NXE

    /// The GDT: null, 64-bit code (L=1, D=0), data, then a busy 64-bit TSS descriptor for `tssBase`.
    /// Accessed bits are preset so the CPU never needs to write the table.
    static func gdt(tssBase: UInt64) -> [UInt64] {
        let code: UInt64 = 0x00af_9b00_0000_ffff
        let data: UInt64 = 0x00cf_9300_0000_ffff
        var tssLow = UInt64(tssLimit & 0xffff)
        tssLow |= (tssBase & 0xff_ffff) << 16
        tssLow |= 0x8b << 40  // present, DPL0, type 11: busy 64-bit TSS
        tssLow |= UInt64((tssLimit >> 16) & 0xf) << 48
        tssLow |= ((tssBase >> 24) & 0xff) << 56
        return [0, code, data, tssLow, tssBase >> 32]
    }

    /// A 64-bit TSS (104 bytes as 13 u64s) with RSP0 and IST1 at `exceptionStackTop`, IST2 at `interruptStackTop`
    /// and no I/O bitmap.
    static func tss(exceptionStackTop: UInt64, interruptStackTop: UInt64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 0x68)
        func put(_ value: UInt64, at offset: Int) {
            for i in 0..<8 { bytes[offset + i] = UInt8((value >> UInt64(8 * i)) & 0xff) }
        }
        put(exceptionStackTop, at: 0x04)  // RSP0
        put(exceptionStackTop, at: 0x24)  // IST1
        put(interruptStackTop, at: 0x2c)  // IST2
        bytes[0x66] = 0x68  // I/O map base = limit + 1: no bitmap
        return bytes
    }

    /// An interrupt gate to `handler` in the code segment, DPL0, on stack `ist` of the TSS, as two u64s.
    static func interruptGate(handler: UInt64, ist: UInt64 = 1) -> (UInt64, UInt64) {
        var low = handler & 0xffff
        low |= UInt64(codeSelector) << 16
        low |= ist << 32
        low |= 0x8e << 40  // present, DPL0, 64-bit interrupt gate
        low |= ((handler >> 16) & 0xffff) << 48
        return (low, handler >> 32)
    }

    /// The IDT: every vector goes to the harness's stubs, exceptions (0 to 31) on IST1, interrupts (32 to 255) on
    /// IST2.
    static func idt() -> [UInt64] {
        var table = [UInt64](repeating: 0, count: 512)
        for vector in 0..<256 {
            let gate = interruptGate(
                handler: UInt64(KVMH_STUBS_GVA) + UInt64(vector) * UInt64(KVMH_STUB_ENTRY_SIZE),
                ist: vector < 32 ? 1 : 2)
            table[2 * vector] = gate.0
            table[2 * vector + 1] = gate.1
        }
        return table
    }

    static func segment(selector: UInt16, type: UInt8, code: Bool, base: UInt64 = 0) -> kvm_segment {
        var segment = kvm_segment()
        segment.base = base
        segment.limit = 0xffff_ffff
        segment.selector = selector
        segment.type = type
        segment.present = 1
        segment.dpl = 0
        segment.db = code ? 0 : 1
        segment.s = 1
        segment.l = code ? 1 : 0
        segment.g = 1
        return segment
    }

    /// Fills the special registers for long mode, keeping what KVM set that the harness does not own (APIC base,
    /// the interrupt bitmap).
    static func configure(
        _ sregs: inout kvm_sregs, cr3: UInt64, gdtBase: UInt64, tssBase: UInt64, fsBase: UInt64, xsave: Bool
    ) {
        sregs.cr0 = cr0
        sregs.cr3 = cr3
        sregs.cr4 = cr4Base | (xsave ? cr4OSXSAVE : 0)
        sregs.efer = efer
        sregs.cs = segment(selector: codeSelector, type: 0xb, code: true)
        sregs.ds = segment(selector: dataSelector, type: 0x3, code: false)
        sregs.es = sregs.ds
        sregs.ss = sregs.ds
        sregs.gs = sregs.ds
        sregs.fs = segment(selector: dataSelector, type: 0x3, code: false, base: fsBase)
        var tr = kvm_segment()
        tr.base = tssBase
        tr.limit = tssLimit
        tr.selector = tssSelector
        tr.type = 0xb
        tr.present = 1
        tr.s = 0
        sregs.tr = tr
        var ldt = kvm_segment()
        ldt.unusable = 1
        ldt.type = 2
        sregs.ldt = ldt
        sregs.gdt.base = gdtBase
        sregs.gdt.limit = gdtLimit
        sregs.idt.base = UInt64(KVMH_IDT_GVA)
        sregs.idt.limit = idtLimit
    }
}
#endif
