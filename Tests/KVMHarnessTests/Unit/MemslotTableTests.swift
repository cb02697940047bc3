import Testing

@testable import KVMHarness

/// The slot table's searches (binary, by address and by number) against a plain scan of the same slots.
@Suite("MemslotTable")
struct MemslotTableTests {
    static func slot(_ number: UInt32, _ gpa: UInt64, pages: UInt64, harness: Bool = false) -> Memslot {
        Memslot(
            slot: number, guestPhysicalAddress: gpa, size: pages * 4096, hostAddress: 0x7000_0000_0000 + UInt(gpa),
            readOnly: false, purpose: "slot \(number)", isHarnessMemory: harness)
    }

    @Test("slots added out of order are found by number and by any address inside them, and nowhere else")
    func searches() {
        var table = MemslotTable()
        // 200 slots of 1 to 3 pages with one-page holes, added in a scrambled order; slot 0 is the harness's.
        var all: [Memslot] = []
        var gpa: UInt64 = 0x10_0000
        for number in 0..<200 {
            let pages = UInt64(number % 3 + 1)
            all.append(Self.slot(UInt32(number), gpa, pages: pages, harness: number == 0))
            gpa += (pages + 1) * 4096
        }
        for index in 0..<all.count { table.insert(all[(index * 73) % all.count]) }
        #expect(table.slots.map(\.guestPhysicalAddress) == all.map(\.guestPhysicalAddress))
        #expect(table.harnessSlots.map(\.slot) == [0])
        for slot in all {
            #expect(table.slot(numbered: slot.slot) == slot)
            #expect(table.slot(containing: slot.guestPhysicalAddress) == slot)
            #expect(table.slot(containing: slot.end - 1) == slot)
            #expect(table.slot(containing: slot.end) == nil, "the hole after slot \(slot.slot)")
        }
        #expect(table.slot(containing: 0) == nil)
        #expect(table.slot(containing: .max) == nil)
        #expect(table.slot(numbered: 200) == nil)

        // Remove every other slot, then move one: the rest are still found, the removed ones are not.
        for slot in all where slot.slot % 2 == 0 { #expect(table.remove(slot: slot.slot) == slot) }
        #expect(table.remove(slot: 0) == nil)
        #expect(table.harnessSlots.isEmpty)
        var moved = all[1]
        _ = table.remove(slot: 1)
        moved.guestPhysicalAddress = 1 << 40
        table.insert(moved)
        #expect(table.slot(containing: all[1].guestPhysicalAddress) == nil)
        #expect(table.slot(containing: (1 << 40) + 4095) == moved)
        #expect(table.slots.last == moved)
        for slot in all where slot.slot % 2 == 1 && slot.slot != 1 {
            #expect(table.slot(numbered: slot.slot) == slot)
            #expect(table.slot(containing: slot.guestPhysicalAddress + 4095) == slot)
        }
        #expect(table.slots.count == 100)
    }

    @Test("a slot with no host memory (a guest_memfd the host cannot map) is found, but never read or written")
    func noHostMemory() {
        var table = MemslotTable()
        var slot = Self.slot(3, 0x20_0000, pages: 2)
        slot.hostAddress = 0
        slot.isHostAccessible = false
        table.insert(slot)
        #expect(table.slot(containing: 0x20_0000 + 4096) == slot)
        var word: UInt64 = 0
        #expect(!table.read(gpa: 0x20_0000, into: &word, count: 8))
        #expect(!table.write(gpa: 0x20_0000, from: &word, count: 8))
        #expect(table.mutablePointer(gpa: 0x20_0000, count: 8) == nil)
        #expect(!table.read(gpa: 0x20_0000, into: &word, count: 0), "not even zero bytes")
    }
}
