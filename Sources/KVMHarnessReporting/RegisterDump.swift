import KVMHarness
internal import CKVM

/// A named machine word, such as a register.
package struct NamedValue: Sendable, Equatable {
    /// The name, lower case as in `struct kvm_regs` ("rip", "cr3").
    package var name: String
    /// The value.
    package var value: UInt64

    /// A named value.
    package init(_ name: String, _ value: UInt64) {
        self.name = name
        self.value = value
    }
}

/// A segment register as KVM reports it (`struct kvm_segment`).
package struct SegmentRegisterState: Sendable, Equatable {
    /// "cs", "ds", "es", "fs", "gs", "ss", "tr" or "ldt".
    package var name: String
    /// The selector.
    package var selector: UInt16
    /// The base address.
    package var base: UInt64
    /// The limit.
    package var limit: UInt32
    /// The descriptor type field.
    package var type: UInt8
    /// The descriptor privilege level.
    package var dpl: UInt8
    /// P: present.
    package var present: Bool
    /// L: a 64-bit code segment.
    package var long: Bool
    /// D/B: the default operand size is 32 bits.
    package var defaultSize32: Bool
    /// S: a code or data segment (not a system segment).
    package var codeOrData: Bool
    /// G: the limit is in 4 KiB units.
    package var granularity: Bool
    /// KVM's "unusable" flag (a null selector loaded, as VMX reports it).
    package var unusable: Bool

    init(_ name: String, _ segment: kvm_segment) {
        self.name = name
        selector = segment.selector
        base = segment.base
        limit = segment.limit
        type = segment.type
        dpl = segment.dpl
        present = segment.present != 0
        long = segment.l != 0
        defaultSize32 = segment.db != 0
        codeOrData = segment.s != 0
        granularity = segment.g != 0
        unusable = segment.unusable != 0
    }

    /// A segment with these fields (for tests and hand-built dumps).
    package init(
        name: String, selector: UInt16, base: UInt64, limit: UInt32, type: UInt8, dpl: UInt8, present: Bool,
        long: Bool, defaultSize32: Bool, codeOrData: Bool, granularity: Bool, unusable: Bool
    ) {
        self.name = name
        self.selector = selector
        self.base = base
        self.limit = limit
        self.type = type
        self.dpl = dpl
        self.present = present
        self.long = long
        self.defaultSize32 = defaultSize32
        self.codeOrData = codeOrData
        self.granularity = granularity
        self.unusable = unusable
    }
}

/// A descriptor-table register (GDTR or IDTR, `struct kvm_dtable`).
package struct DescriptorTableRegister: Sendable, Equatable {
    /// The table's guest-virtual base address.
    package var base: UInt64
    /// The limit: the table's size in bytes minus one.
    package var limit: UInt16

    /// A descriptor-table register with these fields.
    package init(base: UInt64, limit: UInt16) {
        self.base = base
        self.limit = limit
    }
}

/// The registers of a vCPU when it exited, in a form the formatters print without touching KVM.
package struct RegisterDump: Sendable, Equatable {
    /// RIP, RSP, RFLAGS, then RAX to R15, as `struct kvm_regs` has them.
    package var general: [NamedValue]
    /// CR0, CR2, CR3, CR4, CR8, EFER (empty when the special registers were not read).
    package var control: [NamedValue]
    /// CS, DS, ES, FS, GS, SS, TR, LDT (empty when the special registers were not read).
    package var segments: [SegmentRegisterState]
    /// The GDTR (nil when the special registers were not read).
    package var gdt: DescriptorTableRegister?
    /// The IDTR (nil when the special registers were not read).
    package var idt: DescriptorTableRegister?

    /// A dump of hand-picked values (for tests).
    package init(
        general: [NamedValue], control: [NamedValue] = [], segments: [SegmentRegisterState] = [],
        gdt: DescriptorTableRegister? = nil, idt: DescriptorTableRegister? = nil
    ) {
        self.general = general
        self.control = control
        self.segments = segments
        self.gdt = gdt
        self.idt = idt
    }

    /// A dump of `registers` (`KVM_GET_REGS`) and, if given, `special` (`KVM_GET_SREGS`).
    package init(registers r: kvm_regs, special: kvm_sregs? = nil) {
        general = [
            NamedValue("rip", r.rip), NamedValue("rsp", r.rsp), NamedValue("rflags", r.rflags),
            NamedValue("rax", r.rax), NamedValue("rbx", r.rbx), NamedValue("rcx", r.rcx), NamedValue("rdx", r.rdx),
            NamedValue("rsi", r.rsi), NamedValue("rdi", r.rdi), NamedValue("rbp", r.rbp),
            NamedValue("r8", r.r8), NamedValue("r9", r.r9), NamedValue("r10", r.r10), NamedValue("r11", r.r11),
            NamedValue("r12", r.r12), NamedValue("r13", r.r13), NamedValue("r14", r.r14), NamedValue("r15", r.r15),
        ]
        guard let s = special else {
            control = []
            segments = []
            return
        }
        control = [
            NamedValue("cr0", s.cr0), NamedValue("cr2", s.cr2), NamedValue("cr3", s.cr3), NamedValue("cr4", s.cr4),
            NamedValue("cr8", s.cr8), NamedValue("efer", s.efer),
        ]
        segments = [
            SegmentRegisterState("cs", s.cs), SegmentRegisterState("ds", s.ds), SegmentRegisterState("es", s.es),
            SegmentRegisterState("fs", s.fs), SegmentRegisterState("gs", s.gs), SegmentRegisterState("ss", s.ss),
            SegmentRegisterState("tr", s.tr), SegmentRegisterState("ldt", s.ldt),
        ]
        gdt = DescriptorTableRegister(base: s.gdt.base, limit: s.gdt.limit)
        idt = DescriptorTableRegister(base: s.idt.base, limit: s.idt.limit)
    }

    /// RIP (0 if the dump has none).
    package var rip: UInt64 { value(of: "rip") ?? 0 }

    /// The value of the register called `name`, if the dump has it.
    package func value(of name: String) -> UInt64? {
        (general.first { $0.name == name } ?? control.first { $0.name == name })?.value
    }
}

/// An exception KVM was delivering or about to deliver when the vCPU exited (`kvm_vcpu_events.exception`).
package struct PendingException: Sendable, Equatable {
    /// The vector (6 is #UD, 13 #GP, 14 #PF).
    package var vector: UInt8
    /// The error code, if the exception has one.
    package var errorCode: UInt32?
    /// Whether KVM had already injected it (delivery under way), as opposed to only pending.
    package var injected: Bool

    /// A pending exception with these fields.
    package init(vector: UInt8, errorCode: UInt32?, injected: Bool) {
        self.vector = vector
        self.errorCode = errorCode
        self.injected = injected
    }

    /// The exception in `events`, if one is injected or pending.
    init?(_ events: kvm_vcpu_events) {
        let exception = events.exception
        guard exception.injected != 0 || exception.pending != 0 else { return nil }
        vector = exception.nr
        errorCode = exception.has_error_code != 0 ? exception.error_code : nil
        injected = exception.injected != 0
    }
}
