import Testing

@testable import KVMHarness

/// The syndromes below are composed by hand from the ESR_ELx layout (Arm ARM D17.2.37): EC << 26 | IL << 25 | ISS,
/// and for a data abort ISS = ISV << 24 | SAS << 22 | SSE << 21 | SRT << 16 | SF << 15 | AR << 14 | FnV << 10 |
/// EA << 9 | CM << 8 | S1PTW << 7 | WnR << 6 | DFSC. Each comment spells the sum out.
@Suite("ARM64 exception syndromes: ESR_ELx decoding")
struct ARM64ExceptionSyndromeTests {
    @Test("a data abort with a valid instruction syndrome: `str x1, [x0]` to an unmapped page")
    func dataAbortWithSyndrome() {
        // EC 0x25 (0x9400_0000) | IL (0x0200_0000) | ISV (0x0100_0000) | SAS 3 (0x00c0_0000) | SRT 1 (0x1_0000)
        // | SF (0x8000) | WnR (0x40) | DFSC 0b000111, translation fault at level 3 (0x07).
        let esr = ExceptionSyndrome(rawValue: 0x97c1_8047)
        #expect(esr.exceptionClass == .dataAbortSameEL)
        #expect(esr.instructionIs32Bit)
        #expect(esr.iss == 0x1c1_8047)
        #expect(esr.instructionSyndromeValid)
        #expect(esr.accessSize == 8)
        #expect(esr.signExtends == false)
        #expect(esr.register == 1)
        #expect(esr.sixtyFourBitRegister == true)
        #expect(esr.acquireRelease == false)
        #expect(esr.isWrite)
        #expect(!esr.farNotValid && !esr.stage1TableWalk && !esr.cacheMaintenance && !esr.externalAbort)
        #expect(esr.faultStatus == .translation(level: 3))
        #expect(esr.description == "data abort at the same EL: translation fault at level 3, 8-byte write of x1")
    }

    @Test("a 4-byte sign-extending load-acquire from EL0 that hit a permission fault")
    func lowerELRead() {
        // EC 0x24 (0x9000_0000) | IL (0x0200_0000) | ISV (0x0100_0000) | SAS 2 (0x0080_0000) | SSE (0x0020_0000)
        // | SRT 3 (0x3_0000) | SF 0 | AR (0x4000) | WnR 0 | DFSC 0b001111, permission fault at level 3 (0x0f).
        let esr = ExceptionSyndrome(rawValue: 0x93a3_400f)
        #expect(esr.exceptionClass == .dataAbortLowerEL)
        #expect(esr.accessSize == 4 && esr.register == 3 && esr.sixtyFourBitRegister == false)
        #expect(!esr.isWrite)
        #expect(esr.description
            == "data abort from a lower EL: permission fault at level 3, 4-byte sign-extending acquire/release read into w3")
    }

    @Test("a data abort without a valid syndrome: a store pair, or a walk of a stage-1 table with FAR not valid")
    func dataAbortWithoutSyndrome() {
        // EC 0x25 | IL | WnR (0x40) | DFSC translation fault at level 2 (0x06): ISV clear, so SAS..AR mean nothing.
        let storePair = ExceptionSyndrome(rawValue: 0x9600_0046)
        #expect(!storePair.instructionSyndromeValid)
        #expect(storePair.accessSize == nil && storePair.register == nil && storePair.sixtyFourBitRegister == nil)
        #expect(storePair.description
            == "data abort at the same EL: translation fault at level 2, write (no valid instruction syndrome)")
        // EC 0x24 (0x9000_0000) | IL | FnV (0x400) | S1PTW (0x80) | DFSC translation fault at level 1 (0x05).
        let walk = ExceptionSyndrome(rawValue: 0x9200_0485)
        #expect(walk.farNotValid && walk.stage1TableWalk)
        #expect(walk.description
            == "data abort from a lower EL: translation fault at level 1, read (no valid instruction syndrome), "
            + "on the stage-1 table walk, FAR not valid")
        // EC 0x25 | IL | DFSC alignment fault (0x21), a read.
        #expect(ExceptionSyndrome(rawValue: 0x9600_0021).description
            == "data abort at the same EL: alignment fault, read (no valid instruction syndrome)")
    }

    @Test("instruction aborts: fault status and no access description")
    func instructionAbort() {
        // EC 0x21 (0x8400_0000) | IL | IFSC permission fault at level 3 (0x0f); then access flag fault level 3 (0x0b).
        let esr = ExceptionSyndrome(rawValue: 0x8600_000f)
        #expect(esr.exceptionClass == .instructionAbortSameEL)
        #expect(esr.faultStatus == .permission(level: 3))
        #expect(!esr.isWrite && !esr.instructionSyndromeValid)
        #expect(esr.description == "instruction abort at the same EL: permission fault at level 3")
        #expect(ExceptionSyndrome(rawValue: 0x8600_000b).description
            == "instruction abort at the same EL: access flag fault at level 3")
        // EC 0x20 (0x8000_0000) | IL | IFSC translation fault at level 0 (0x04).
        #expect(ExceptionSyndrome(rawValue: 0x8200_0004).description
            == "instruction abort from a lower EL: translation fault at level 0")
    }

    @Test("calls, BRK, system register traps, WF*, and classes without a name")
    func otherClasses() {
        // EC 0x15 (0x5400_0000) | IL | imm16 0x42. Bit 6 of the immediate is set: not a write, not an abort.
        let svc = ExceptionSyndrome(rawValue: 0x5600_0042)
        #expect(svc.exceptionClass == .supervisorCall)
        #expect(svc.description == "SVC #0x42")
        #expect(!svc.isWrite && svc.faultStatus == nil && svc.accessSize == nil)
        // EC 0x16 (0x5800_0000) | IL | imm16 0.
        #expect(ExceptionSyndrome(rawValue: 0x5a00_0000).description == "HVC #0x0")
        // EC 0x3c (0xf000_0000) | IL | imm16 1000 (0x3e8).
        #expect(ExceptionSyndrome(rawValue: 0xf200_03e8).description == "BRK #0x3e8")
        // EC 0x18 (0x6000_0000) | IL | ISS: op0 3 << 20 | op2 0 << 17 | op1 0 << 14 | CRn 0 << 10 | Rt 2 << 5
        // | CRm 7 << 1 | direction 1 (read) = 0x30_004f: `mrs x2, id_aa64mmfr0_el1`.
        let mrs = ExceptionSyndrome(rawValue: 0x6230_004f)
        #expect(mrs.description == "trapped system register access: MRS x2, S3_0_C0_C7_0")
        // The same with direction 0 and Rt 31: `msr id_aa64mmfr0_el1, xzr`.
        #expect(ExceptionSyndrome(rawValue: 0x6230_03ee).description
            == "trapped system register access: MSR S3_0_C0_C7_0, xzr")
        // EC 0x01 (0x0400_0000) | IL | TI 0b01: WFE.
        #expect(ExceptionSyndrome(rawValue: 0x0600_0001).description == "trapped WFI/WFE (WFE)")
        // EC 0x26 (0x9800_0000) | IL: SP alignment, which has no ISS to speak of.
        #expect(ExceptionSyndrome(rawValue: 0x9a00_0000).description == "SP alignment fault, ISS 0x0")
        #expect(ExceptionSyndrome(rawValue: 0x0200_0000).exceptionClass == .unknown)
        // EC 0x03 (0x0c00_0000): an AArch32 MCR/MRC trap, named only by number.
        #expect(ExceptionSyndrome(rawValue: 0x0e00_0000).description == "exception class 0x3, ISS 0x0")
    }

    @Test("every fault status code group decodes to its name and level")
    func faultStatusCodes() {
        for level in 0...3 {
            #expect(ExceptionSyndrome.FaultStatus(code: UInt8(0x00 + level)) == .addressSize(level: level))
            #expect(ExceptionSyndrome.FaultStatus(code: UInt8(0x04 + level)) == .translation(level: level))
            #expect(ExceptionSyndrome.FaultStatus(code: UInt8(0x08 + level)) == .accessFlag(level: level))
            #expect(ExceptionSyndrome.FaultStatus(code: UInt8(0x0c + level)) == .permission(level: level))
            #expect(ExceptionSyndrome.FaultStatus(code: UInt8(0x14 + level)) == .synchronousExternalAbortOnWalk(level: level))
        }
        #expect(ExceptionSyndrome.FaultStatus(code: 0x10) == .synchronousExternalAbort)
        #expect(ExceptionSyndrome.FaultStatus(code: 0x21) == .alignment)
        #expect(ExceptionSyndrome.FaultStatus(code: 0x30) == .tlbConflict)
        #expect(ExceptionSyndrome.FaultStatus(code: 0x22) == .other(0x22))
        #expect(ExceptionSyndrome.FaultStatus(code: 0x22).description == "fault status 0x22")
    }

    @Test("KVM_EXIT_ARM_NISV: the exit's ISS bits and fault IPA become one line naming the cure")
    func noValidSyndrome() {
        // What KVM passes on: WnR (0x40) | DFSC translation fault at level 1 (0x05), the stage-2 fault on the IPA.
        let line = ExceptionSyndrome.describeNoValidSyndrome(iss: 0x45, faultIPA: 0xa0_0000_0000)
        #expect(line.hasPrefix("a write to guest-physical 0xa000000000, outside every memslot, that KVM cannot emulate"))
        #expect(line.contains("ISV 0: a store pair, a load/store with writeback"))
        #expect(line.hasSuffix("use a single-register load or store without writeback"))
        #expect(ExceptionSyndrome.describeNoValidSyndrome(iss: 0x05, faultIPA: 0x1000).hasPrefix("a read to"))
    }
}
