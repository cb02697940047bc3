import Testing

@testable import KVMHarness

@Suite("ARM64 registers: ONE_REG ids, the harness's system register values, the ucall address")
struct ARM64RegistersTests {
    /// The ids as the kernel's uapi computes them: printed by a C program built against
    /// arch/arm64/include/uapi/asm/kvm.h (KVM_REG_ARM_CORE_REG(regs.pc) and friends, ARM64_SYS_REG(...),
    /// KVM_REG_ARM_TIMER_*).
    @Test("core and system register ids match arch/arm64/include/uapi/asm/kvm.h")
    func oneRegIDs() {
        #expect(ARM64Registers.x(0) == 0x6030_0000_0010_0000)
        #expect(ARM64Registers.x(30) == 0x6030_0000_0010_003c)
        #expect(ARM64Registers.sp == 0x6030_0000_0010_003e)
        #expect(ARM64Registers.pc == 0x6030_0000_0010_0040)
        #expect(ARM64Registers.pstate == 0x6030_0000_0010_0042)
        #expect(ARM64Registers.spEL1 == 0x6030_0000_0010_0044)
        #expect(ARM64Registers.elrEL1 == 0x6030_0000_0010_0046)
        #expect(ARM64Registers.spsrEL1 == 0x6030_0000_0010_0048)
        #expect(ARM64Registers.sctlrEL1 == 0x6030_0000_0013_c080)
        #expect(ARM64Registers.cpacrEL1 == 0x6030_0000_0013_c082)
        #expect(ARM64Registers.ttbr0EL1 == 0x6030_0000_0013_c100)
        #expect(ARM64Registers.ttbr1EL1 == 0x6030_0000_0013_c101)
        #expect(ARM64Registers.tcrEL1 == 0x6030_0000_0013_c102)
        #expect(ARM64Registers.esrEL1 == 0x6030_0000_0013_c290)
        #expect(ARM64Registers.farEL1 == 0x6030_0000_0013_c300)
        #expect(ARM64Registers.mairEL1 == 0x6030_0000_0013_c510)
        #expect(ARM64Registers.vbarEL1 == 0x6030_0000_0013_c600)
        #expect(ARM64Registers.mpidrEL1 == 0x6030_0000_0013_c005)
        #expect(ARM64Registers.midrEL1 == 0x6030_0000_0013_c000)
        #expect(ARM64Registers.idAA64MMFR0EL1 == 0x6030_0000_0013_c038)
        #expect(ARM64Registers.idAA64PFR0EL1 == 0x6030_0000_0013_c020)
        #expect(ARM64Registers.tpidrEL1 == 0x6030_0000_0013_c684)
        #expect(ARM64Registers.timerCount == 0x6030_0000_0013_df1a)
        #expect(ARM64Registers.timerCompareValue == 0x6030_0000_0013_df02)
        #expect(ARM64Registers.timerControl == 0x6030_0000_0013_df19)
    }

    /// Values composed from the field layouts (Arm ARM D17.2): each comment spells out the sum.
    @Test("TCR_EL1, MAIR_EL1, SCTLR_EL1, PSTATE and CPACR_EL1 values")
    func systemRegisterValues() {
        // T0SZ 16 (0x10) | IRGN0 0b01 (0x100) | ORGN0 0b01 (0x400) | SH0 0b11 (0x3000) | TG0 4 KiB (0) | T1SZ 16
        // (0x10_0000) | EPD1 (0x80_0000) | TG1 4 KiB 0b10 (0x8000_0000) | IPS 0b010, 40 bits (0x2_0000_0000).
        #expect(ARM64Registers.tcr(virtualAddressBits: 48, physicalAddressBits: 40) == 0x2_8090_3510)
        // T0SZ 25 (0x19), T1SZ 25 (0x19_0000), IPS 0b101, 48 bits (0x5_0000_0000).
        #expect(ARM64Registers.tcr(virtualAddressBits: 39, physicalAddressBits: 48) == 0x5_8099_3519)
        // A 39-bit IPA space has no PARange encoding of its own: IPS rounds up to 40 bits.
        #expect(ARM64Registers.tcr(virtualAddressBits: 48, physicalAddressBits: 39) >> 32 & 7 == 0b010)
        #expect(ARM64Registers.mair == 0xff04)
        // M (1) | C (4) | EOS (0x800) | I (0x1000) | TSCXT (0x10_0000) | EIS (0x40_0000) | SPAN (0x80_0000)
        // | nTLSMD (0x1000_0000) | LSMAOE (0x2000_0000).
        #expect(ARM64Registers.sctlr == 0x30d0_1805)
        // D, A, I, F (0x3c0) | M = EL1t (0b0100).
        #expect(ARM64Registers.pstateEL1tMasked == 0x3c4)
        // FPEN 0b11 at bits 21:20.
        #expect(ARM64Registers.cpacr == 0x30_0000)
    }

    @Test("PARange: encodings to bits and the smallest encoding covering a size")
    func parange() {
        let table: [(UInt64, Int)] = [(0, 32), (1, 36), (2, 40), (3, 42), (4, 44), (5, 48), (6, 52), (7, 56)]
        for (value, bits) in table { #expect(ARM64Registers.physicalAddressBits(parange: value) == bits) }
        #expect(ARM64Registers.physicalAddressBits(parange: 8) == nil)
        #expect(ARM64Registers.parange(coveringBits: 32) == 0)
        #expect(ARM64Registers.parange(coveringBits: 33) == 1)
        #expect(ARM64Registers.parange(coveringBits: 40) == 2)
        #expect(ARM64Registers.parange(coveringBits: 41) == 3)
        #expect(ARM64Registers.parange(coveringBits: 48) == 5)
        #expect(ARM64Registers.parange(coveringBits: 52) == 5)
    }

    @Test("the ucall address search over min(IPA bits, VA bits - 1), identity-mapped as device memory")
    func ucallAddress() throws {
        // A 40-bit IPA space with 48-bit VAs: 5/8 of 2^40, then 1/16 steps down and up.
        let small = UcallAddressSearch.candidates(physicalAddressBits: 40, virtualAddressBits: 48)
        #expect(Array(small.prefix(3)) == [0xa0_0000_0000, 0x90_0000_0000, 0xb0_0000_0000])
        // A 48-bit IPA space with 48-bit VAs: bounded by the 47 bits TTBR0 identity-maps, not the 48 of the IPA.
        let large = UcallAddressSearch.candidates(physicalAddressBits: 48, virtualAddressBits: 48)
        #expect(large.first == 0x5000_0000_0000)
        #expect(large.allSatisfy { $0 < 1 << 47 })
        let found = try UcallAddressSearch.find(physicalAddressBits: 40, virtualAddressBits: 48) { $0 == 0xa0_0000_0000 }
        #expect(found == 0x90_0000_0000)
        #expect(throws: KVMError.self) {
            _ = try UcallAddressSearch.validate(1 << 47, physicalAddressBits: 48, virtualAddressBits: 48) { _ in false }
        }
        // Each first candidate identity-maps as device memory through the stage-1 tables of its IPA size.
        for (pa, address) in [(40, small[0]), (48, large[0])] {
            var allocator = PhysicalPageAllocator(start: 0x1000, end: 0x10_0000)
            let memory = BufferMemory(size: 0x10_0000)
            let tables = try Stage1PageTables(allocator: &allocator, physicalAddressBits: pa)
            try tables.map(gva: address, gpa: address, flags: [.writable], memoryType: .device, memory: memory, allocator: &allocator)
            #expect(tables.translate(address + 8, memory: memory)
                == .mapped(gpa: address + 8, writable: true, executable: false, user: false))
        }
    }
}
