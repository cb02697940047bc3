// Decoders that turn the numbers KVM reports with an exit into words.
// Pure Swift: nothing here talks to /dev/kvm.

// MARK: - KVM_EXIT_INTERNAL_ERROR

/// The kind of `KVM_EXIT_INTERNAL_ERROR`: `kvm_run.internal.suberror` (`KVM_INTERNAL_ERROR_*` in linux/kvm.h).
public enum InternalErrorSuberror: UInt32, Sendable, CaseIterable {
    /// `KVM_INTERNAL_ERROR_EMULATION` (1): the instruction emulator gave up.
    case emulation = 1
    /// `KVM_INTERNAL_ERROR_SIMUL_EX` (2): exceptions collided in a way KVM cannot resolve.
    case simultaneousExceptions = 2
    /// `KVM_INTERNAL_ERROR_DELIVERY_EV` (3): an exit KVM cannot handle arrived while an event was being delivered.
    case deliveryEvent = 3
    /// `KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON` (4): the hardware reported an exit KVM has no handler for.
    case unexpectedExitReason = 4

    /// The C name without its `KVM_INTERNAL_ERROR_` prefix, e.g. "SIMUL_EX".
    public var name: String {
        switch self {
        case .emulation: "EMULATION"
        case .simultaneousExceptions: "SIMUL_EX"
        case .deliveryEvent: "DELIVERY_EV"
        case .unexpectedExitReason: "UNEXPECTED_EXIT_REASON"
        }
    }

    /// One sentence on what this suberror means and where its details are in `internal.data`.
    public var meaning: String {
        switch self {
        case .emulation:
            "KVM had to emulate a guest instruction and could not decode or carry it out; when the emulation-failure flags include INSTRUCTION_BYTES, the bytes it tried are reported too."
        case .simultaneousExceptions:
            "While KVM was injecting one exception another one arrived in a combination it does not know how to merge, so it stopped the vCPU."
        case .deliveryEvent:
            "The CPU left the guest in the middle of delivering an interrupt or exception, for a reason KVM cannot handle at that point; typically the IDT, GDT, TSS or stack used for delivery lies in memory no memslot backs."
        case .unexpectedExitReason:
            "The hardware exited for a reason KVM has no handler for; `internal.data[0]` holds the raw exit code and `internal.data[1]` the host CPU."
        }
    }

    /// Describes a raw `internal.suberror` value, including numbers this library does not know.
    public static func describe(_ raw: UInt32) -> String {
        guard let known = InternalErrorSuberror(rawValue: raw) else {
            return "unknown suberror \(raw) (not in this library's table; the kernel may be newer)"
        }
        return "\(known.name) (\(raw)): \(known.meaning)"
    }
}

// MARK: - KVM_EXIT_FAIL_ENTRY

/// Which hardware virtualization encodes `kvm_run.fail_entry.hardware_entry_failure_reason`: Intel VMX or AMD SVM.
public enum CPUVendor: Sendable {
    /// VMX: Intel, and the Zhaoxin/Centaur parts that implement VMX.
    case intel
    /// SVM: AMD and Hygon.
    case amd
    /// Not known; decoders give both readings.
    case unknown
}

/// Decodes `kvm_run.fail_entry.hardware_entry_failure_reason` (and `fail_entry.cpu`) for `KVM_EXIT_FAIL_ENTRY`.
public enum HardwareEntryFailure {
    /// Maps a CPUID leaf 0 vendor string ("GenuineIntel", "AuthenticAMD", "HygonGenuine") to its virtualization flavor.
    public static func vendor(fromCPUIDVendorString string: String) -> CPUVendor {
        let trimmed = string.filter { !$0.isWhitespace && $0 != "\u{0}" }
        switch trimmed {
        case "GenuineIntel", "CentaurHauls", "Shanghai": return .intel
        case "AuthenticAMD", "HygonGenuine": return .amd
        default: return .unknown
        }
    }

    /// Explains a `fail_entry.hardware_entry_failure_reason` value reported on host CPU `cpu`.
    ///
    /// On VMX the value is either the VM-exit reason (bit 31 set for an entry failure) or, when VMLAUNCH/VMRESUME
    /// itself failed, the VM-instruction error number; on SVM it is the VMCB exit code. The result always names
    /// the host CPU and the raw value in hex.
    public static func explain(reason: UInt64, cpu: UInt32, vendor: CPUVendor) -> String {
        let head = "hardware entry failure reason \(hex(reason)) on host CPU \(cpu)"
        let body: String
        switch vendor {
        case .intel:
            body = "\(head) (Intel VMX): \(vmxReading(reason))"
        case .amd:
            body = "\(head) (AMD SVM): \(svmReading(reason))"
        case .unknown:
            body = "\(head), CPU vendor unknown; read as Intel VMX: \(vmxReading(reason)); read as AMD SVM: \(svmReading(reason))"
        }
        return body + "; under a software-virtualized KVM such as PVM the value may follow neither encoding"
    }

    // MARK: VMX

    private static func vmxReading(_ reason: UInt64) -> String {
        guard reason <= UInt64(UInt32.max) else {
            return "wider than 32 bits, so not a VMX exit reason or VM-instruction error"
        }
        let full = UInt32(reason)
        let entryFailure = full & 0x8000_0000 != 0
        let basic = full & 0xFFFF
        var text: String
        if entryFailure {
            text = "VM-entry failure (bit 31 set), basic exit reason \(basic)"
        } else {
            text = "basic exit reason \(basic), bit 31 (entry failure) clear"
        }
        if let meaning = vmxEntryFailureReasons[basic] {
            text += ": \(meaning)"
        }
        if !entryFailure, let error = vmInstructionErrors[full] {
            text += "; if this is a VM-instruction error (VMLAUNCH/VMRESUME failed outright), \(full) means \(error)"
        }
        return text
    }

    /// VMX basic exit reasons that only occur as VM-entry failures.
    private static let vmxEntryFailureReasons: [UInt32: String] = [
        33: "VM-entry failure due to invalid guest state (a guest register, segment or control-register combination failed the entry checks)",
        34: "VM-entry failure due to MSR loading (an entry in the VM-entry MSR-load list was rejected)",
        41: "VM-entry failure due to machine-check event (a machine check arrived during VM entry)",
    ]

    /// VMX VM-instruction error numbers (the VM-instruction error field of the VMCS).
    private static let vmInstructionErrors: [UInt32: String] = [
        1: "VMCALL executed in VMX root operation",
        2: "VMCLEAR with an invalid physical address",
        3: "VMCLEAR with the VMXON pointer",
        4: "VMLAUNCH with a VMCS that is not clear",
        5: "VMRESUME with a VMCS that was never launched",
        6: "VMRESUME after VMXOFF",
        7: "VM entry with invalid control field(s)",
        8: "VM entry with invalid host-state field(s)",
        9: "VMPTRLD with an invalid physical address",
        10: "VMPTRLD with the VMXON pointer",
        11: "VMPTRLD with a wrong VMCS revision identifier",
        12: "VMREAD/VMWRITE of an unsupported VMCS field",
        13: "VMWRITE to a read-only VMCS field",
        15: "VMXON executed in VMX root operation",
        16: "VM entry with an invalid executive-VMCS pointer",
        17: "VM entry with a non-launched executive VMCS",
        18: "VM entry with an executive-VMCS pointer that is not the VMXON pointer",
        19: "VMCALL with a VMCS that is not clear",
        20: "VMCALL with invalid VM-exit control fields",
        22: "VMCALL with a wrong MSEG revision identifier",
        23: "VMXOFF under dual-monitor treatment of SMIs and SMM",
        24: "VMCALL with invalid SMM-monitor features",
        25: "VM entry with invalid VM-execution control fields in the executive VMCS",
        26: "VM entry with events blocked by MOV SS",
        28: "an invalid operand to INVEPT/INVVPID",
    ]

    // MARK: SVM

    private static func svmReading(_ reason: UInt64) -> String {
        switch reason {
        case UInt64.max, 0xFFFF_FFFF:
            // Older kernels kept only the low 32 bits of the exit code.
            return "VMEXIT_INVALID (-1): VMRUN failed: invalid guest state in the VMCB"
        case UInt64.max - 1:
            return "VMEXIT_BUSY (-2): VMRUN failed: the BUSY bit was set in the encrypted guest's VMSA"
        case UInt64.max - 2:
            return "VMEXIT_IDLE_REQUIRED (-3): VMRUN failed: the sibling hardware thread was not idle"
        case UInt64.max - 3:
            return "VMEXIT_INVALID_PMC (-4): VMRUN failed: invalid performance-counter state"
        default:
            return "SVM exit code \(hex(reason))"
        }
    }

    private static func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16, uppercase: true) }
}

// MARK: - x86 exception vectors

/// Names x86 exception vectors, as `kvm_run.ex.exception`, `kvm_vcpu_events.exception.nr` and guest exception reports carry them.
public enum X86Exception {
    /// The short mnemonic for a vector: "#DE", "#UD", "#GP", "#PF", "NMI"; "CSO" for 9 and "#<n>" for reserved vectors.
    ///
    /// Vectors 32 and above are interrupts, not exceptions, and come out as "vector <n>".
    public static func mnemonic(_ vector: UInt64) -> String {
        if let entry = table[vector] { return entry.mnemonic }
        return vector < 32 ? "#\(vector)" : "vector \(vector)"
    }

    /// The full name for a vector, e.g. "Invalid Opcode", "General Protection", "Page Fault".
    public static func name(_ vector: UInt64) -> String {
        if let entry = table[vector] { return entry.name }
        if vector < 32 { return "Reserved" }
        if vector < 256 { return "Interrupt vector \(vector) (external or software interrupt)" }
        return "Invalid vector \(vector)"
    }

    /// Whether the CPU pushes an error code for this exception vector (8, 10-14, 17, 21, 29, 30).
    public static func hasErrorCode(_ vector: UInt64) -> Bool {
        switch vector {
        case 8, 10...14, 17, 21, 29, 30: true
        default: false
        }
    }

    /// Puts a #PF error code into words, e.g. "not-present read at CPL0 (error code 0x0)".
    ///
    /// Decodes P (bit 0), W (1), U (2), RSVD (3), I (4), PK (5), SS (6), HLAT (7), SGX (15) and the AMD RMP bit (31).
    /// U clear means a supervisor-mode access, which for a selftest guest is CPL0.
    public static func describePageFaultErrorCode(_ code: UInt64) -> String {
        let present = code & (1 << 0) != 0
        let write = code & (1 << 1) != 0
        let user = code & (1 << 2) != 0
        let fetch = code & (1 << 4) != 0

        let access = fetch ? "instruction fetch" : (write ? "write" : "read")
        var text = "\(present ? "protection-violation" : "not-present") \(access) at \(user ? "CPL3" : "CPL0")"

        var extras: [String] = []
        if fetch && write { extras.append("write bit also set") }
        if code & (1 << 3) != 0 { extras.append("reserved bit set in a paging-structure entry") }
        if code & (1 << 5) != 0 { extras.append("protection-key violation") }
        if code & (1 << 6) != 0 { extras.append("shadow-stack access") }
        if code & (1 << 7) != 0 { extras.append("during HLAT paging") }
        if code & (1 << 15) != 0 { extras.append("SGX access-control violation") }
        if code & (1 << 31) != 0 { extras.append("RMP violation (AMD SEV-SNP)") }
        let decoded: UInt64 = 0x7F | (1 << 15) | (1 << 31)
        let rest = code & ~decoded
        if rest != 0 { extras.append("other bits 0x\(String(rest, radix: 16, uppercase: true))") }
        if !extras.isEmpty { text += ", " + extras.joined(separator: ", ") }

        return text + " (error code 0x\(String(code, radix: 16, uppercase: true)))"
    }

    private static let table: [UInt64: (mnemonic: String, name: String)] = [
        0: ("#DE", "Divide Error"),
        1: ("#DB", "Debug"),
        2: ("NMI", "Non-Maskable Interrupt"),
        3: ("#BP", "Breakpoint"),
        4: ("#OF", "Overflow"),
        5: ("#BR", "BOUND Range Exceeded"),
        6: ("#UD", "Invalid Opcode"),
        7: ("#NM", "Device Not Available"),
        8: ("#DF", "Double Fault"),
        9: ("CSO", "Coprocessor Segment Overrun (reserved)"),
        10: ("#TS", "Invalid TSS"),
        11: ("#NP", "Segment Not Present"),
        12: ("#SS", "Stack-Segment Fault"),
        13: ("#GP", "General Protection"),
        14: ("#PF", "Page Fault"),
        15: ("#15", "Reserved"),
        16: ("#MF", "x87 Floating-Point Error"),
        17: ("#AC", "Alignment Check"),
        18: ("#MC", "Machine Check"),
        19: ("#XM", "SIMD Floating-Point Exception"),
        20: ("#VE", "Virtualization Exception"),
        21: ("#CP", "Control Protection"),
        28: ("#HV", "Hypervisor Injection Exception"),
        29: ("#VC", "VMM Communication Exception"),
        30: ("#SX", "Security Exception"),
    ]
}
