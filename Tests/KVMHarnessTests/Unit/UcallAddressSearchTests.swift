import Testing

@testable import KVMHarness

@Suite("Ucall MMIO address search")
struct UcallAddressSearchTests {
    @Test("candidates go 5/8, then 1/16 steps down and up")
    func candidateOrder() {
        // bits = min(48, 48 - 1) = 47: end 2^47, start 5/8 of it, step 1/16 of it.
        let end: UInt64 = 1 << 47
        let start = end / 8 * 5
        let step = end / 16
        let candidates = UcallAddressSearch.candidates(physicalAddressBits: 48, virtualAddressBits: 48)
        #expect(
            candidates == [
                start, start - step, start + step, start - 2 * step, start + 2 * step, start - 3 * step,
                start + 3 * step, start - 4 * step, start + 4 * step, start - 5 * step, start + 5 * step,
            ])
        #expect(candidates.first == 0x5000_0000_0000)
    }

    @Test("pa_bits smaller than va_bits - 1 bounds the search")
    func physicalBitsBound() {
        let candidates = UcallAddressSearch.candidates(physicalAddressBits: 36, virtualAddressBits: 48)
        #expect(candidates.prefix(3) == [0xA_0000_0000, 0x9_0000_0000, 0xB_0000_0000])
        #expect(candidates.allSatisfy { $0 < 1 << 36 })
    }

    @Test("the first candidate no memslot covers wins")
    func skipsBackedCandidates() throws {
        let start: UInt64 = 0x5000_0000_0000
        let step: UInt64 = 0x0800_0000_0000
        // A memslot over [start - step, start + 1): covers the first two candidates.
        let table = [(gpa: start - step, size: step + 1)]
        let found = try UcallAddressSearch.find(physicalAddressBits: 48, virtualAddressBits: 48) { gpa in
            table.contains { gpa + 8 > $0.gpa && gpa < $0.gpa + $0.size }
        }
        #expect(found == start + step)
    }

    @Test("every candidate backed is a clear error")
    func exhaustion() {
        #expect(throws: KVMError.noUcallAddress(addressBits: 47)) {
            try UcallAddressSearch.find(physicalAddressBits: 48, virtualAddressBits: 48) { _ in true }
        }
        #expect(
            KVMError.noUcallAddress(addressBits: 47).description
                == "can't find a ucall MMIO address: every candidate below 2^47 is covered by a memslot")
    }

    @Test("an explicit address is used as it is, unless it is guest RAM")
    func explicitAddress() throws {
        let ram: ClosedRange<UInt64> = 0...0x3ff_ffff
        let isBacked = { (gpa: UInt64) in ram.contains(gpa) }
        #expect(
            try UcallAddressSearch.validate(0x1_0000_0000, physicalAddressBits: 48, virtualAddressBits: 48, isBacked: isBacked)
                == 0x1_0000_0000)
        #expect(throws: KVMError.ucallAddressIsGuestRAM(gpa: 0x10_0000)) {
            try UcallAddressSearch.validate(0x10_0000, physicalAddressBits: 48, virtualAddressBits: 48, isBacked: isBacked)
        }
        #expect(
            KVMError.ucallAddressIsGuestRAM(gpa: 0x10_0000).description.hasPrefix(
                "can't use 0x100000 as the ucall MMIO address: it is guest RAM"))
        #expect(throws: KVMError.self) {
            try UcallAddressSearch.validate(1 << 47, physicalAddressBits: 48, virtualAddressBits: 48, isBacked: isBacked)
        }
        #expect(throws: KVMError.self) {
            try UcallAddressSearch.validate(0x1_0000_0004, physicalAddressBits: 48, virtualAddressBits: 48, isBacked: isBacked)
        }
    }
}
