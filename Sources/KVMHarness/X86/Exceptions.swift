#if arch(x86_64)
// x86 exception vectors and #PF error codes, in words. Pure Swift: no ioctls.

/// Names x86 exception vectors, as `kvm_run.ex.exception`, `kvm_vcpu_events.exception.nr` and guest exception reports carry them.
package enum X86Exception {
    /// The short mnemonic for a vector: "#DE", "#UD", "#GP", "#PF", "NMI"; "CSO" for 9 and "#<n>" for reserved vectors.
    ///
    /// Vectors 32 and above are interrupts, not exceptions, and come out as "vector <n>".
    package static func mnemonic(_ vector: UInt64) -> String {
        if let entry = table[vector] { return entry.mnemonic }
        return vector < 32 ? "#\(vector)" : "vector \(vector)"
    }

    /// The full name for a vector, e.g. "Invalid Opcode", "General Protection", "Page Fault".
    package static func name(_ vector: UInt64) -> String {
        if let entry = table[vector] { return entry.name }
        if vector < 32 { return "Reserved" }
        if vector < 256 { return "Interrupt vector \(vector) (external or software interrupt)" }
        return "Invalid vector \(vector)"
    }

    /// Whether the CPU pushes an error code for this exception vector (8, 10-14, 17, 21, 29, 30).
    package static func hasErrorCode(_ vector: UInt64) -> Bool {
        switch vector {
        case 8, 10...14, 17, 21, 29, 30: true
        default: false
        }
    }

    /// Puts a #PF error code into words, e.g. "not-present read at CPL0 (error code 0x0)".
    ///
    /// Decodes P (bit 0), W (1), U (2), RSVD (3), I (4), PK (5), SS (6), HLAT (7), SGX (15) and the AMD RMP bit (31).
    /// U clear means a supervisor-mode access, which for a selftest guest is CPL0.
    package static func describePageFaultErrorCode(_ code: UInt64) -> String {
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
        if rest != 0 { extras.append("other bits \(hex(rest, uppercase: true))") }
        if !extras.isEmpty { text += ", " + extras.joined(separator: ", ") }

        return text + " (error code \(hex(code, uppercase: true)))"
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
#endif
