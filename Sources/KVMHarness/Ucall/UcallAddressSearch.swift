/// Choosing the guest-physical address of the ucall MMIO exit.
///
/// A store to a guest-physical address that no memslot backs exits to user space as `KVM_EXIT_MMIO`, so the ucall
/// address must lie outside every memslot. It is identity-mapped (GVA == GPA), so it must also be a lower-half
/// canonical virtual address: the search is bounded by `min(pa_bits, va_bits - 1)` bits. It starts at 5/8 of that
/// space and walks outwards in steps of 1/16: down, then up, then two steps down, two up, and so on.
package enum UcallAddressSearch {
    /// The candidates in the order they are tried. The first two tries of the classic loop (start - 0 and
    /// start + 0) are the same address, so it appears once.
    package static func candidates(physicalAddressBits: Int, virtualAddressBits: Int) -> [UInt64] {
        let bits = min(physicalAddressBits, virtualAddressBits - 1)
        guard bits >= 4, bits < 64 else { return [] }
        let end: UInt64 = 1 << UInt64(bits)
        let start = end / 8 * 5
        let step = end / 16
        var result: [UInt64] = []
        var offset: UInt64 = 0
        while offset < end - start {
            for candidate in [start - offset, start + offset] where !result.contains(candidate) {
                result.append(candidate)
            }
            offset += step
        }
        return result
    }

    /// The first candidate for which `isBacked` is false.
    ///
    /// - Parameter isBacked: whether a memslot covers any of the 8 bytes at the address.
    /// - Throws: `.noUcallAddress` if every candidate is backed.
    package static func find(
        physicalAddressBits: Int, virtualAddressBits: Int, isBacked: (UInt64) -> Bool
    ) throws(KVMError) -> UInt64 {
        for candidate in candidates(physicalAddressBits: physicalAddressBits, virtualAddressBits: virtualAddressBits)
        where !isBacked(candidate) {
            return candidate
        }
        throw .noUcallAddress(addressBits: min(physicalAddressBits, virtualAddressBits - 1))
    }

    /// Checks an address the test asked for instead of searching.
    ///
    /// - Throws: `.ucallAddressIsGuestRAM` if a memslot covers it; `.invalidArgument` if it is not 8-byte aligned or
    ///   cannot be identity-mapped (above `min(pa_bits, va_bits - 1)` bits).
    package static func validate(
        _ gpa: UInt64, physicalAddressBits: Int, virtualAddressBits: Int, isBacked: (UInt64) -> Bool
    ) throws(KVMError) -> UInt64 {
        let bits = min(physicalAddressBits, virtualAddressBits - 1)
        guard gpa & 7 == 0 else {
            throw .invalidArgument("can't use \(hex(gpa)) as the ucall MMIO address: it is not 8-byte aligned")
        }
        guard bits < 64, gpa < (1 << UInt64(bits)) else {
            throw .invalidArgument(
                "can't use \(hex(gpa)) as the ucall MMIO address: it must be below 2^\(bits) to be identity-mapped")
        }
        guard !isBacked(gpa) else { throw .ucallAddressIsGuestRAM(gpa: gpa) }
        return gpa
    }
}
