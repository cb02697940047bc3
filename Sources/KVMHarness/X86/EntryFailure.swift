#if arch(x86_64)
// Decoding KVM_EXIT_FAIL_ENTRY for the two x86 virtualization extensions. Pure Swift: no ioctls.

/// Which hardware virtualization encodes `kvm_run.fail_entry.hardware_entry_failure_reason`: Intel VMX or AMD SVM.
package enum CPUVendor: Sendable {
    /// VMX: Intel, and the Zhaoxin/Centaur parts that implement VMX.
    case intel
    /// SVM: AMD and Hygon.
    case amd
    /// Not known; decoders give both readings.
    case unknown
}

/// Decodes `kvm_run.fail_entry.hardware_entry_failure_reason` (and `fail_entry.cpu`) for `KVM_EXIT_FAIL_ENTRY`.
package enum HardwareEntryFailure {
    /// Maps a CPUID leaf 0 vendor string ("GenuineIntel", "AuthenticAMD", "HygonGenuine") to its virtualization flavor.
    package static func vendor(fromCPUIDVendorString string: String) -> CPUVendor {
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
    package static func explain(reason: UInt64, cpu: UInt32, vendor: CPUVendor) -> String {
        let head = "hardware entry failure reason \(hex(reason, uppercase: true)) on host CPU \(cpu)"
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
            return "SVM exit code \(hex(reason, uppercase: true))"
        }
    }

}
#endif
