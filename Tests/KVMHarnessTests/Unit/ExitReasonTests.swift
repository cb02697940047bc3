import Testing

@testable import KVMHarness

@Suite("Exit reasons")
struct ExitReasonTests {
    @Test("Numbers match linux/kvm.h")
    func numbers() {
        #expect(ExitReason.unknown.rawValue == 0)
        #expect(ExitReason.io.rawValue == 2)
        #expect(ExitReason.hlt.rawValue == 5)
        #expect(ExitReason.mmio.rawValue == 6)
        #expect(ExitReason.shutdown.rawValue == 8)
        #expect(ExitReason.failEntry.rawValue == 9)
        #expect(ExitReason.interrupted.rawValue == 10)
        #expect(ExitReason.internalError.rawValue == 17)
        #expect(ExitReason.systemEvent.rawValue == 24)
        #expect(ExitReason.x86Rdmsr.rawValue == 29)
        #expect(ExitReason.x86Wrmsr.rawValue == 30)
        #expect(ExitReason.notify.rawValue == 37)
        #expect(ExitReason.loongArchIOCSR.rawValue == 38)
        #expect(ExitReason.memoryFault.rawValue == 39)
        #expect(ExitReason.tdx.rawValue == 40)
        #expect(ExitReason.armSEA.rawValue == 41)
    }

    @Test(
        "Names",
        arguments: [
            (UInt32(0), "UNKNOWN"), (2, "IO"), (6, "MMIO"), (8, "SHUTDOWN"), (9, "FAIL_ENTRY"), (10, "INTR"),
            (17, "INTERNAL_ERROR"), (24, "SYSTEM_EVENT"), (29, "X86_RDMSR"), (37, "NOTIFY"), (39, "MEMORY_FAULT"),
            (41, "ARM_SEA"), (200, "UNKNOWN_200"),
        ])
    func names(number: UInt32, name: String) {
        let reason = ExitReason(rawValue: number)
        #expect(reason.name == name)
        #expect(reason.description == name)
    }

    @Test("`all` is sorted, unique and contiguous from 0")
    func allIsContiguous() {
        let numbers = ExitReason.all.map(\.rawValue)
        #expect(numbers.first == 0)
        #expect(numbers == Array(0...numbers.last!))
        #expect(Set(ExitReason.all).count == ExitReason.all.count)
        #expect(numbers.last! >= 41)
        #expect(Set(ExitReason.all.map(\.name)).count == ExitReason.all.count)
    }

    @Test("Every known reason has text")
    func everyEntryHasText() {
        for reason in ExitReason.all {
            #expect(!reason.name.hasPrefix("UNKNOWN_"), "\(reason.rawValue)")
            #expect(!reason.meaning.isEmpty, "\(reason)")
            #expect(!reason.usualCauses.isEmpty, "\(reason)")
        }
        let stranger = ExitReason(rawValue: 200)
        #expect(!stranger.meaning.isEmpty)
        #expect(!stranger.usualCauses.isEmpty)
    }

    @Test("Architecture-specific reasons say they do not occur on x86")
    func nonX86() {
        for reason in [ExitReason.s390SIEIntercept, .riscvSBI, .armNoSyndrome, .loongArchIOCSR, .armSEA] {
            #expect(reason.usualCauses.contains("x86"), "\(reason)")
        }
    }

    @Test("Lookup by name")
    func lookup() {
        #expect(ExitReason(name: "MMIO") == .mmio)
        #expect(ExitReason(name: "mmio") == .mmio)
        #expect(ExitReason(name: "KVM_EXIT_MMIO") == .mmio)
        #expect(ExitReason(name: "kvm_exit_fail_entry") == .failEntry)
        #expect(ExitReason(name: "Intr") == .interrupted)
        #expect(ExitReason(name: " memory_fault ") == .memoryFault)
        #expect(ExitReason(name: "UNKNOWN") == .unknown)
        #expect(ExitReason(name: "UNKNOWN_200") == ExitReason(rawValue: 200))
        #expect(ExitReason(name: "NO_SUCH_EXIT") == nil)
        #expect(ExitReason(name: "") == nil)
        for reason in ExitReason.all {
            #expect(ExitReason(name: reason.name) == reason)
            #expect(ExitReason(name: "KVM_EXIT_" + reason.name.lowercased()) == reason)
        }
    }
}

@Suite("Exit explanations")
struct ExitExplanationTests {
    @Test("Internal-error suberrors")
    func suberrors() {
        #expect(InternalErrorSuberror.emulation.rawValue == 1)
        #expect(InternalErrorSuberror.emulation.name == "EMULATION")
        #expect(InternalErrorSuberror.simultaneousExceptions.rawValue == 2)
        #expect(InternalErrorSuberror.simultaneousExceptions.name == "SIMUL_EX")
        #expect(InternalErrorSuberror.deliveryEvent.rawValue == 3)
        #expect(InternalErrorSuberror.deliveryEvent.name == "DELIVERY_EV")
        #expect(InternalErrorSuberror.unexpectedExitReason.rawValue == 4)
        #expect(InternalErrorSuberror.unexpectedExitReason.name == "UNEXPECTED_EXIT_REASON")
        for suberror in InternalErrorSuberror.allCases { #expect(!suberror.meaning.isEmpty) }
        #expect(InternalErrorSuberror.describe(3).contains("DELIVERY_EV"))
        #expect(InternalErrorSuberror.describe(99).contains("99"))
    }

    @Test("CPUID vendor strings")
    func vendors() {
        #expect(HardwareEntryFailure.vendor(fromCPUIDVendorString: "GenuineIntel") == .intel)
        #expect(HardwareEntryFailure.vendor(fromCPUIDVendorString: "AuthenticAMD") == .amd)
        #expect(HardwareEntryFailure.vendor(fromCPUIDVendorString: "HygonGenuine") == .amd)
        #expect(HardwareEntryFailure.vendor(fromCPUIDVendorString: "KVMKVMKVM") == .unknown)
    }

    @Test("VMX invalid guest state")
    func vmxInvalidGuestState() {
        let text = HardwareEntryFailure.explain(reason: 0x8000_0021, cpu: 3, vendor: .intel)
        #expect(text.contains("invalid guest state"))
        #expect(text.contains("host CPU 3"))
        #expect(text.contains("0x80000021"))
        #expect(text.contains("bit 31"))
    }

    @Test("VMX values that may be VM-instruction errors")
    func vmxInstructionError() {
        let text = HardwareEntryFailure.explain(reason: 7, cpu: 0, vendor: .intel)
        #expect(text.contains("if this is a VM-instruction error"))
        #expect(text.contains("invalid control field"))
        let host = HardwareEntryFailure.explain(reason: 8, cpu: 0, vendor: .intel)
        #expect(host.contains("invalid host-state field"))
        let other = HardwareEntryFailure.explain(reason: 0x8000_0030, cpu: 1, vendor: .intel)
        #expect(other.contains("basic exit reason 48"))
        #expect(!other.contains("VM-instruction error"))
    }

    @Test("SVM VMEXIT_INVALID")
    func svmInvalid() {
        let text = HardwareEntryFailure.explain(reason: UInt64.max, cpu: 5, vendor: .amd)
        #expect(text.contains("VMRUN"))
        #expect(text.contains("host CPU 5"))
        #expect(text.contains("0xFFFFFFFFFFFFFFFF"))
        let other = HardwareEntryFailure.explain(reason: 0x400, cpu: 5, vendor: .amd)
        #expect(other.contains("SVM exit code 0x400"))
    }

    @Test("Unknown vendor gives both readings")
    func unknownVendor() {
        let text = HardwareEntryFailure.explain(reason: 0x8000_0021, cpu: 2, vendor: .unknown)
        #expect(text.contains("VMX"))
        #expect(text.contains("SVM"))
        #expect(text.contains("invalid guest state"))
        #expect(text.contains("PVM"))
    }

    @Test("Exception mnemonics and names")
    func exceptions() {
        #expect(X86Exception.mnemonic(0) == "#DE")
        #expect(X86Exception.mnemonic(6) == "#UD")
        #expect(X86Exception.mnemonic(8) == "#DF")
        #expect(X86Exception.mnemonic(9) == "CSO")
        #expect(X86Exception.mnemonic(13) == "#GP")
        #expect(X86Exception.mnemonic(14) == "#PF")
        #expect(X86Exception.mnemonic(15) == "#15")
        #expect(X86Exception.mnemonic(21) == "#CP")
        #expect(X86Exception.mnemonic(23) == "#23")
        #expect(X86Exception.mnemonic(29) == "#VC")
        #expect(X86Exception.name(6) == "Invalid Opcode")
        #expect(X86Exception.name(13) == "General Protection")
        #expect(X86Exception.name(14) == "Page Fault")
    }

    @Test("Which vectors push an error code")
    func errorCodes() {
        let withCode: Set<UInt64> = [8, 10, 11, 12, 13, 14, 17, 21, 29, 30]
        for vector in UInt64(0)..<32 {
            #expect(X86Exception.hasErrorCode(vector) == withCode.contains(vector), "vector \(vector)")
        }
    }

    @Test("Page-fault error codes")
    func pageFaultErrorCodes() {
        #expect(X86Exception.describePageFaultErrorCode(0) == "not-present read at CPL0 (error code 0x0)")
        let write = X86Exception.describePageFaultErrorCode(0x7)
        #expect(write.hasPrefix("protection-violation write at CPL3"))
        #expect(X86Exception.describePageFaultErrorCode(0x10).contains("instruction fetch"))
        #expect(X86Exception.describePageFaultErrorCode(0x9).contains("reserved bit"))
        #expect(X86Exception.describePageFaultErrorCode(0x21).contains("protection-key"))
        #expect(X86Exception.describePageFaultErrorCode(0x43).contains("shadow-stack"))
    }
}
