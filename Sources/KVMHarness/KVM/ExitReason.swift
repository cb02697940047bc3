/// Why `KVM_RUN` handed control back to userspace: the `exit_reason` field of `struct kvm_run`
/// (`KVM_EXIT_*` in linux/kvm.h).
///
/// The type is open: numbers a newer kernel adds still round-trip, and are named `UNKNOWN_<n>`.
public struct ExitReason: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The `KVM_EXIT_*` number, as `kvm_run.exit_reason` holds it.
    public var rawValue: UInt32

    /// Creates an exit reason from its `KVM_EXIT_*` number; any number is accepted.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    // MARK: - The reasons, in numeric order

    /// `KVM_EXIT_UNKNOWN` (0): no specific reason; see `hw.hardware_exit_reason`.
    public static let unknown = ExitReason(rawValue: UInt32(KVM_EXIT_UNKNOWN))
    /// `KVM_EXIT_EXCEPTION` (1): an intercepted guest exception handed to userspace.
    public static let exception = ExitReason(rawValue: UInt32(KVM_EXIT_EXCEPTION))
    /// `KVM_EXIT_IO` (2): port I/O (IN/OUT) for userspace to complete.
    public static let io = ExitReason(rawValue: UInt32(KVM_EXIT_IO))
    /// `KVM_EXIT_HYPERCALL` (3): a hypercall forwarded to userspace.
    public static let hypercall = ExitReason(rawValue: UInt32(KVM_EXIT_HYPERCALL))
    /// `KVM_EXIT_DEBUG` (4): a guest-debug event (single step, breakpoint).
    public static let debug = ExitReason(rawValue: UInt32(KVM_EXIT_DEBUG))
    /// `KVM_EXIT_HLT` (5): the guest executed HLT with no in-kernel irqchip.
    public static let hlt = ExitReason(rawValue: UInt32(KVM_EXIT_HLT))
    /// `KVM_EXIT_MMIO` (6): an access to guest-physical memory KVM cannot satisfy.
    public static let mmio = ExitReason(rawValue: UInt32(KVM_EXIT_MMIO))
    /// `KVM_EXIT_IRQ_WINDOW_OPEN` (7): the guest can accept an injected interrupt.
    public static let irqWindowOpen = ExitReason(rawValue: UInt32(KVM_EXIT_IRQ_WINDOW_OPEN))
    /// `KVM_EXIT_SHUTDOWN` (8): the vCPU shut down, usually after a triple fault.
    public static let shutdown = ExitReason(rawValue: UInt32(KVM_EXIT_SHUTDOWN))
    /// `KVM_EXIT_FAIL_ENTRY` (9): the hardware refused VM entry.
    public static let failEntry = ExitReason(rawValue: UInt32(KVM_EXIT_FAIL_ENTRY))
    /// `KVM_EXIT_INTR` (10): KVM_RUN interrupted by a signal or `immediate_exit`.
    public static let interrupted = ExitReason(rawValue: UInt32(KVM_EXIT_INTR))
    /// `KVM_EXIT_SET_TPR` (11): reserved for TPR writes; never produced.
    public static let setTPR = ExitReason(rawValue: UInt32(KVM_EXIT_SET_TPR))
    /// `KVM_EXIT_TPR_ACCESS` (12): a reported access to the APIC task-priority register.
    public static let tprAccess = ExitReason(rawValue: UInt32(KVM_EXIT_TPR_ACCESS))
    /// `KVM_EXIT_S390_SIEIC` (13): s390 SIE intercept.
    public static let s390SIEIntercept = ExitReason(rawValue: UInt32(KVM_EXIT_S390_SIEIC))
    /// `KVM_EXIT_S390_RESET` (14): s390 reset request.
    public static let s390Reset = ExitReason(rawValue: UInt32(KVM_EXIT_S390_RESET))
    /// `KVM_EXIT_DCR` (15, deprecated): PowerPC 440 device control register access.
    public static let deviceControlRegister = ExitReason(rawValue: UInt32(KVM_EXIT_DCR))
    /// `KVM_EXIT_NMI` (16): reserved for NMIs; never produced.
    public static let nmi = ExitReason(rawValue: UInt32(KVM_EXIT_NMI))
    /// `KVM_EXIT_INTERNAL_ERROR` (17): KVM could not handle something; see `internal.suberror`.
    public static let internalError = ExitReason(rawValue: UInt32(KVM_EXIT_INTERNAL_ERROR))
    /// `KVM_EXIT_OSI` (18): PowerPC Mac-on-Linux OSI call.
    public static let osi = ExitReason(rawValue: UInt32(KVM_EXIT_OSI))
    /// `KVM_EXIT_PAPR_HCALL` (19): PowerPC PAPR hypercall.
    public static let paprHypercall = ExitReason(rawValue: UInt32(KVM_EXIT_PAPR_HCALL))
    /// `KVM_EXIT_S390_UCONTROL` (20): s390 user-controlled VM translation fault.
    public static let s390UserControl = ExitReason(rawValue: UInt32(KVM_EXIT_S390_UCONTROL))
    /// `KVM_EXIT_WATCHDOG` (21): PowerPC BookE watchdog expiry.
    public static let watchdog = ExitReason(rawValue: UInt32(KVM_EXIT_WATCHDOG))
    /// `KVM_EXIT_S390_TSCH` (22): s390 TEST SUBCHANNEL intercept.
    public static let s390TestSubchannel = ExitReason(rawValue: UInt32(KVM_EXIT_S390_TSCH))
    /// `KVM_EXIT_EPR` (23): PowerPC external proxy: userspace supplies the interrupt vector.
    public static let externalProxy = ExitReason(rawValue: UInt32(KVM_EXIT_EPR))
    /// `KVM_EXIT_SYSTEM_EVENT` (24): guest power-off, reset, crash or similar request.
    public static let systemEvent = ExitReason(rawValue: UInt32(KVM_EXIT_SYSTEM_EVENT))
    /// `KVM_EXIT_S390_STSI` (25): s390 STORE SYSTEM INFORMATION intercept.
    public static let s390StoreSystemInformation = ExitReason(rawValue: UInt32(KVM_EXIT_S390_STSI))
    /// `KVM_EXIT_IOAPIC_EOI` (26): EOI of a level-triggered interrupt for a userspace IOAPIC.
    public static let ioapicEOI = ExitReason(rawValue: UInt32(KVM_EXIT_IOAPIC_EOI))
    /// `KVM_EXIT_HYPERV` (27): a Hyper-V emulation event.
    public static let hyperV = ExitReason(rawValue: UInt32(KVM_EXIT_HYPERV))
    /// `KVM_EXIT_ARM_NISV` (28): Arm data abort without a valid instruction syndrome.
    public static let armNoSyndrome = ExitReason(rawValue: UInt32(KVM_EXIT_ARM_NISV))
    /// `KVM_EXIT_X86_RDMSR` (29): RDMSR handed to userspace.
    public static let x86Rdmsr = ExitReason(rawValue: UInt32(KVM_EXIT_X86_RDMSR))
    /// `KVM_EXIT_X86_WRMSR` (30): WRMSR handed to userspace.
    public static let x86Wrmsr = ExitReason(rawValue: UInt32(KVM_EXIT_X86_WRMSR))
    /// `KVM_EXIT_DIRTY_RING_FULL` (31): this vCPU's dirty ring is full.
    public static let dirtyRingFull = ExitReason(rawValue: UInt32(KVM_EXIT_DIRTY_RING_FULL))
    /// `KVM_EXIT_AP_RESET_HOLD` (32): SEV-ES AP reset hold.
    public static let apResetHold = ExitReason(rawValue: UInt32(KVM_EXIT_AP_RESET_HOLD))
    /// `KVM_EXIT_X86_BUS_LOCK` (33): the guest performed a bus lock.
    public static let x86BusLock = ExitReason(rawValue: UInt32(KVM_EXIT_X86_BUS_LOCK))
    /// `KVM_EXIT_XEN` (34): a Xen emulation event.
    public static let xen = ExitReason(rawValue: UInt32(KVM_EXIT_XEN))
    /// `KVM_EXIT_RISCV_SBI` (35): RISC-V SBI call.
    public static let riscvSBI = ExitReason(rawValue: UInt32(KVM_EXIT_RISCV_SBI))
    /// `KVM_EXIT_RISCV_CSR` (36): RISC-V CSR access.
    public static let riscvCSR = ExitReason(rawValue: UInt32(KVM_EXIT_RISCV_CSR))
    /// `KVM_EXIT_NOTIFY` (37): Intel notify VM exit: the guest looked stuck.
    public static let notify = ExitReason(rawValue: UInt32(KVM_EXIT_NOTIFY))
    /// `KVM_EXIT_LOONGARCH_IOCSR` (38): LoongArch IOCSR access.
    public static let loongArchIOCSR = ExitReason(rawValue: UInt32(KVM_EXIT_LOONGARCH_IOCSR))
    /// `KVM_EXIT_MEMORY_FAULT` (39): an unresolved guest memory fault (with KVM_RUN failing).
    public static let memoryFault = ExitReason(rawValue: UInt32(KVM_EXIT_MEMORY_FAULT))
    /// `KVM_EXIT_TDX` (40): a TDX TDVMCALL forwarded to userspace.
    public static let tdx = ExitReason(rawValue: UInt32(KVM_EXIT_TDX))
    /// `KVM_EXIT_ARM_SEA` (41): Arm synchronous external abort.
    public static let armSEA = ExitReason(rawValue: UInt32(KVM_EXIT_ARM_SEA))

    // MARK: - Lookup

    /// Every exit reason this library knows, in numeric order (0 through the newest, no gaps).
    public static let all: [ExitReason] = table.map { ExitReason(rawValue: $0.number) }

    /// Looks a reason up by its `KVM_EXIT_*` name, case-insensitively, with or without the prefix.
    ///
    /// `"mmio"`, `"KVM_EXIT_MMIO"` and `"kvm_exit_mmio"` all give `.mmio`. `"UNKNOWN_<n>"` (the name this
    /// type prints for numbers it does not know) gives `<n>` when `<n>` is not in the table.
    public init?(name: String) {
        var key = ExitReason.trimmed(name).uppercased()
        if key.hasPrefix("KVM_EXIT_") { key.removeFirst("KVM_EXIT_".count) }
        if let entry = ExitReason.table.first(where: { $0.name == key }) {
            self.init(rawValue: entry.number)
            return
        }
        if key.hasPrefix("UNKNOWN_"), let number = UInt32(key.dropFirst("UNKNOWN_".count)),
            ExitReason.entry(for: number) == nil
        {
            self.init(rawValue: number)
            return
        }
        return nil
    }

    // MARK: - Text

    /// The C name without its `KVM_EXIT_` prefix ("MMIO", "INTR"), or `UNKNOWN_<n>` for a number not in the table.
    public var name: String { ExitReason.entry(for: rawValue)?.name ?? "UNKNOWN_\(rawValue)" }

    /// Whether this number is one of the known `KVM_EXIT_*` values.
    public var isKnown: Bool { ExitReason.entry(for: rawValue) != nil }

    /// One sentence: what this exit tells userspace.
    public var meaning: String {
        ExitReason.entry(for: rawValue)?.meaning
            ?? "Exit reason \(rawValue) is not in this library's table; the running kernel is probably newer than it."
    }

    /// One or two sentences: what usually produces this exit for a small x86-64 selftest guest.
    public var usualCauses: String {
        ExitReason.entry(for: rawValue)?.causes
            ?? "Look the number up in the running kernel's linux/kvm.h and Documentation/virt/kvm/api.rst."
    }

    /// The name, as `name` gives it.
    public var description: String { name }

    // MARK: - The table

    private struct Entry: Sendable {
        let number: UInt32
        let name: String
        let meaning: String
        let causes: String
    }

    private static func entry(for number: UInt32) -> Entry? {
        // The table is contiguous from 0, so the number is its index.
        Int(exactly: number).flatMap { $0 < table.count ? table[$0] : nil }
    }

    private static func trimmed(_ text: String) -> String {
        var rest = Substring(text)
        while let first = rest.first, first.isWhitespace { rest.removeFirst() }
        while let last = rest.last, last.isWhitespace { rest.removeLast() }
        return String(rest)
    }

    private static let notOnX86 = "It does not occur on x86."

    private static let table: [Entry] = [
        Entry(
            number: UInt32(KVM_EXIT_UNKNOWN), name: "UNKNOWN",
            meaning: "KVM stopped the vCPU for a reason it has no specific exit code for; `hw.hardware_exit_reason` holds the raw hardware code.",
            causes: "Rare on current x86 kernels, which report unhandled hardware exits as INTERNAL_ERROR instead; older kernels used this for VMX exit reasons they did not handle. If KVM_RUN itself failed, the field may simply not have been written."
        ),
        Entry(
            number: UInt32(KVM_EXIT_EXCEPTION), name: "EXCEPTION",
            meaning: "The guest raised an exception that KVM intercepted but chose to hand to userspace; `ex.exception` is the vector and `ex.error_code` its error code.",
            causes: "Very rare on x86: an exception KVM intercepted but has no in-kernel handling for. Exceptions in a normal 64-bit guest are delivered through the guest's own IDT and never show up here."
        ),
        Entry(
            number: UInt32(KVM_EXIT_IO), name: "IO",
            meaning: "The guest executed a port I/O instruction (IN, OUT, INS or OUTS) that userspace must complete; `io` gives the direction, port, size and count, and the data sits at `data_offset` in the run structure.",
            causes: "An IN or OUT to a port that nothing emulates. The harness handles its own ucall port 0x1000, so an IO exit reported as a failure is to some other port: a stray debug-port write, a serial port the harness does not model, or a corrupted port number."
        ),
        Entry(
            number: UInt32(KVM_EXIT_HYPERCALL), name: "HYPERCALL",
            meaning: "The guest made a hypercall that KVM forwards to userspace; `hypercall.nr` and `hypercall.args` describe it.",
            causes: "On x86 only KVM_HC_MAP_GPA_RANGE is forwarded, and only when userspace enabled it with KVM_CAP_EXIT_HYPERCALL (used by confidential guests to convert memory). Other VMCALL/VMMCALL instructions are answered in the kernel."
        ),
        Entry(
            number: UInt32(KVM_EXIT_DEBUG), name: "DEBUG",
            meaning: "A debug event that userspace asked for through KVM_SET_GUEST_DEBUG happened; `debug.arch` holds the exception, PC and debug registers.",
            causes: "Single-stepping, a hardware breakpoint or watchpoint, or an INT3 while guest debugging is enabled on the vCPU. Without KVM_SET_GUEST_DEBUG these events go to the guest instead."
        ),
        Entry(
            number: UInt32(KVM_EXIT_HLT), name: "HLT",
            meaning: "The guest executed HLT and KVM is leaving it to userspace to decide when the vCPU should run again.",
            causes: "The guest executed HLT and the VM has no in-kernel local APIC (neither KVM_CREATE_IRQCHIP nor a split irqchip), so nothing in the kernel can wake it. A guest that halts after finishing or after an unexpected exception usually ends up here."
        ),
        Entry(
            number: UInt32(KVM_EXIT_MMIO), name: "MMIO",
            meaning: "The guest read or wrote guest-physical memory that KVM cannot satisfy itself; `mmio` gives the physical address, length, direction and data.",
            causes: "An access to a guest-physical address that no memslot backs (a wild pointer, a page table pointing outside guest memory, an unmapped device), or a write to a memslot registered read-only."
        ),
        Entry(
            number: UInt32(KVM_EXIT_IRQ_WINDOW_OPEN), name: "IRQ_WINDOW_OPEN",
            meaning: "The guest can now take an external interrupt, as userspace asked with `request_interrupt_window`.",
            causes: "Only seen when userspace injects interrupts itself (no in-kernel irqchip, or a split irqchip) and set `request_interrupt_window` before KVM_RUN."
        ),
        Entry(
            number: UInt32(KVM_EXIT_SHUTDOWN), name: "SHUTDOWN",
            meaning: "The vCPU entered the x86 shutdown state, after which it cannot continue.",
            causes: "Almost always a triple fault: an exception with no usable IDT (or an IDT, GDT or stack that itself faults), or a fault while delivering a double fault. Check the IDT base and limit, the TSS and RSP, and the page tables covering them."
        ),
        Entry(
            number: UInt32(KVM_EXIT_FAIL_ENTRY), name: "FAIL_ENTRY",
            meaning: "The hardware refused to enter the guest; `fail_entry.hardware_entry_failure_reason` holds the vendor-specific reason and `fail_entry.cpu` the host CPU.",
            causes: "Guest state that the VM-entry checks reject: inconsistent control registers and EFER (for example long mode without paging), bad segment descriptors or access rights, or a non-canonical address in a system register. VM-instruction errors on VMX (bad control or host-state fields) point at KVM or the host rather than the guest."
        ),
        Entry(
            number: UInt32(KVM_EXIT_INTR), name: "INTR",
            meaning: "KVM_RUN returned without running the guest to completion because a signal was pending for the vCPU thread or `immediate_exit` was set; KVM_RUN fails with EINTR.",
            causes: "A signal reached the vCPU thread (a timeout alarm, a deliberate kick from another thread) or userspace set `immediate_exit`. It is not a guest problem; call KVM_RUN again to continue."
        ),
        Entry(
            number: UInt32(KVM_EXIT_SET_TPR), name: "SET_TPR",
            meaning: "Reserved for reporting writes to the task-priority register; no current kernel produces it.",
            causes: "None: the number is defined in the header but KVM never reports it."
        ),
        Entry(
            number: UInt32(KVM_EXIT_TPR_ACCESS), name: "TPR_ACCESS",
            meaning: "The guest touched the local APIC task-priority register while TPR-access reporting was enabled; `tpr_access` gives the RIP and whether it was a write.",
            causes: "Only with KVM_TPR_ACCESS_REPORTING turned on, which VMMs use to patch old guests' TPR accesses. A selftest sees it only if it enabled that reporting."
        ),
        Entry(
            number: UInt32(KVM_EXIT_S390_SIEIC), name: "S390_SIEIC",
            meaning: "An s390 guest left SIE with an intercept that userspace must handle.",
            causes: "s390 only. \(notOnX86)"
        ),
        Entry(
            number: UInt32(KVM_EXIT_S390_RESET), name: "S390_RESET",
            meaning: "An s390 guest asked for a CPU reset that userspace must carry out.",
            causes: "s390 only. \(notOnX86)"
        ),
        Entry(
            number: UInt32(KVM_EXIT_DCR), name: "DCR",
            meaning: "A PowerPC 440 guest accessed a device control register (deprecated, no longer produced).",
            causes: "Old PowerPC only. \(notOnX86)"
        ),
        Entry(
            number: UInt32(KVM_EXIT_NMI), name: "NMI",
            meaning: "Reserved for reporting a non-maskable interrupt to userspace; no current kernel produces it.",
            causes: "None: the number is defined in the header but KVM never reports it. NMIs reach the guest through the in-kernel APIC or KVM_NMI."
        ),
        Entry(
            number: UInt32(KVM_EXIT_INTERNAL_ERROR), name: "INTERNAL_ERROR",
            meaning: "KVM hit a situation it cannot handle and stopped the vCPU; `internal.suberror` says which kind and `internal.data` carries details.",
            causes: "Usually the instruction emulator failed on an instruction it had to emulate (often one touching MMIO or run with invalid guest state), or an event could not be delivered because the IDT, GDT or stack it needed is in memory that no memslot backs."
        ),
        Entry(
            number: UInt32(KVM_EXIT_OSI), name: "OSI",
            meaning: "A PowerPC guest made a Mac-on-Linux OSI call for userspace to service.",
            causes: "PowerPC only. \(notOnX86)"
        ),
        Entry(
            number: UInt32(KVM_EXIT_PAPR_HCALL), name: "PAPR_HCALL",
            meaning: "A PowerPC PAPR (pSeries) guest made a hypercall for userspace to service.",
            causes: "PowerPC only. \(notOnX86)"
        ),
        Entry(
            number: UInt32(KVM_EXIT_S390_UCONTROL), name: "S390_UCONTROL",
            meaning: "An s390 user-controlled VM took a translation fault that userspace must resolve.",
            causes: "s390 only. \(notOnX86)"
        ),
        Entry(
            number: UInt32(KVM_EXIT_WATCHDOG), name: "WATCHDOG",
            meaning: "The watchdog timer of a PowerPC BookE guest expired.",
            causes: "PowerPC BookE only. \(notOnX86)"
        ),
        Entry(
            number: UInt32(KVM_EXIT_S390_TSCH), name: "S390_TSCH",
            meaning: "An s390 guest executed TEST SUBCHANNEL with an I/O interrupt pending, for userspace to handle.",
            causes: "s390 only. \(notOnX86)"
        ),
        Entry(
            number: UInt32(KVM_EXIT_EPR), name: "EPR",
            meaning: "A PowerPC guest took an external interrupt and userspace must supply the vector through the external proxy register.",
            causes: "PowerPC only. \(notOnX86)"
        ),
        Entry(
            number: UInt32(KVM_EXIT_SYSTEM_EVENT), name: "SYSTEM_EVENT",
            meaning: "The guest asked for a machine-level event such as power-off, reset or crash; `system_event.type` says which.",
            causes: "On x86 this comes from confidential-guest termination requests (SEV-ES/SNP, TDX fatal errors) or Hyper-V crash reporting, not from ordinary instructions; a plain selftest guest rarely produces it."
        ),
        Entry(
            number: UInt32(KVM_EXIT_S390_STSI), name: "S390_STSI",
            meaning: "An s390 guest executed STORE SYSTEM INFORMATION and userspace asked to handle it.",
            causes: "s390 only. \(notOnX86)"
        ),
        Entry(
            number: UInt32(KVM_EXIT_IOAPIC_EOI), name: "IOAPIC_EOI",
            meaning: "The guest acknowledged (EOI) a level-triggered interrupt that the userspace IOAPIC must hear about; `eoi.vector` is the vector.",
            causes: "Only with a split irqchip (KVM_CAP_SPLIT_IRQCHIP), where the IOAPIC lives in userspace."
        ),
        Entry(
            number: UInt32(KVM_EXIT_HYPERV), name: "HYPERV",
            meaning: "A Hyper-V enlightenment needs userspace: a SynIC MSR write, a forwarded Hyper-V hypercall or a synthetic debugger access; `hyperv.type` says which.",
            causes: "Only when Hyper-V emulation is enabled for the vCPU (for example KVM_CAP_HYPERV_SYNIC) and the guest uses it."
        ),
        Entry(
            number: UInt32(KVM_EXIT_ARM_NISV), name: "ARM_NISV",
            meaning: "An Arm guest took a data abort on an address outside memory without valid instruction-syndrome information, so KVM cannot decode the access.",
            causes: "Arm64 only. \(notOnX86)"
        ),
        Entry(
            number: UInt32(KVM_EXIT_X86_RDMSR), name: "X86_RDMSR",
            meaning: "The guest executed RDMSR on an MSR that userspace asked to handle; `msr.index` is the MSR and userspace supplies `msr.data` (or sets `msr.error` to inject #GP).",
            causes: "Only with KVM_CAP_X86_USER_SPACE_MSR enabled: a read of an MSR KVM does not know, one blocked by an MSR filter, or one KVM would fail. Without the capability such reads give the guest #GP instead."
        ),
        Entry(
            number: UInt32(KVM_EXIT_X86_WRMSR), name: "X86_WRMSR",
            meaning: "The guest executed WRMSR on an MSR that userspace asked to handle; `msr.index` and `msr.data` give the MSR and value.",
            causes: "Only with KVM_CAP_X86_USER_SPACE_MSR enabled: a write to an unknown MSR, one blocked by an MSR filter, or one KVM would reject. Without the capability such writes give the guest #GP instead."
        ),
        Entry(
            number: UInt32(KVM_EXIT_DIRTY_RING_FULL), name: "DIRTY_RING_FULL",
            meaning: "This vCPU's dirty-page ring is full and userspace must harvest it and call KVM_RESET_DIRTY_RINGS before the vCPU can continue.",
            causes: "Only when dirty-page tracking by ring (KVM_CAP_DIRTY_LOG_RING) is enabled and the guest dirtied more pages than the ring holds."
        ),
        Entry(
            number: UInt32(KVM_EXIT_AP_RESET_HOLD), name: "AP_RESET_HOLD",
            meaning: "An SEV-ES application processor parked itself in reset hold and waits for userspace to deliver INIT/SIPI.",
            causes: "Only in AMD SEV-ES guests, whose APs request a reset hold through the GHCB protocol; ordinary guests never produce it."
        ),
        Entry(
            number: UInt32(KVM_EXIT_X86_BUS_LOCK), name: "X86_BUS_LOCK",
            meaning: "The guest performed a bus lock (a split-lock or uncached locked access) and userspace asked to be told.",
            causes: "Only with KVM_CAP_X86_BUS_LOCK_EXIT enabled: a LOCK-prefixed access that crosses a cache line or hits uncacheable memory. The exit comes after the instruction completes."
        ),
        Entry(
            number: UInt32(KVM_EXIT_XEN), name: "XEN",
            meaning: "A Xen-emulation event needs userspace, typically a Xen hypercall KVM was told to intercept; `xen.type` says which.",
            causes: "Only when Xen HVM emulation is configured (KVM_XEN_HVM_CONFIG) and the guest makes Xen hypercalls."
        ),
        Entry(
            number: UInt32(KVM_EXIT_RISCV_SBI), name: "RISCV_SBI",
            meaning: "A RISC-V guest made an SBI call that KVM forwards to userspace.",
            causes: "RISC-V only. \(notOnX86)"
        ),
        Entry(
            number: UInt32(KVM_EXIT_RISCV_CSR), name: "RISCV_CSR",
            meaning: "A RISC-V guest accessed a CSR that userspace must emulate.",
            causes: "RISC-V only. \(notOnX86)"
        ),
        Entry(
            number: UInt32(KVM_EXIT_NOTIFY), name: "NOTIFY",
            meaning: "The processor reported that the guest ran for longer than the notify window without opening an event window, so it may be stuck in the hardware; `notify.flags` says whether the VM context is still valid.",
            causes: "Only on Intel CPUs with the notify VM exit, and only with KVM_CAP_X86_NOTIFY_VMEXIT enabled; it points to a guest caught in a microarchitectural loop that blocks interrupts, usually a deliberate attack rather than a bug."
        ),
        Entry(
            number: UInt32(KVM_EXIT_LOONGARCH_IOCSR), name: "LOONGARCH_IOCSR",
            meaning: "A LoongArch guest accessed an IOCSR register that userspace must emulate.",
            causes: "LoongArch only. \(notOnX86)"
        ),
        Entry(
            number: UInt32(KVM_EXIT_MEMORY_FAULT), name: "MEMORY_FAULT",
            meaning: "KVM could not resolve a guest memory fault and is telling userspace the guest-physical range and kind of access; unlike other exits it comes with KVM_RUN failing (EFAULT or EHWPOISON).",
            causes: "Mostly guest_memfd VMs: the guest touched memory whose private/shared attribute does not match the access, so userspace must convert it with KVM_SET_MEMORY_ATTRIBUTES. It can also report a backing page that could not be faulted in or is poisoned."
        ),
        Entry(
            number: UInt32(KVM_EXIT_TDX), name: "TDX",
            meaning: "An Intel TDX trust domain made a TDVMCALL that KVM forwards to userspace.",
            causes: "Only in TDX guests (such as attestation quote requests); an ordinary x86 VM never produces it."
        ),
        Entry(
            number: UInt32(KVM_EXIT_ARM_SEA), name: "ARM_SEA",
            meaning: "An Arm guest took a synchronous external abort that the host did not claim, and userspace asked to handle it.",
            causes: "Arm64 only. \(notOnX86)"
        ),
    ]
}

