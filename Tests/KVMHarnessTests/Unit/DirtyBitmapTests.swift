import Testing

@testable import KVMHarness

@Suite("Dirty bitmaps: KVM's bit layout, slices, and the dirty_log_test verification")
struct DirtyBitmapTests {
    @Test("page n is bit n % 64 of word n / 64; bits past the end are dropped")
    func layout() {
        var bitmap = DirtyBitmap(pageCount: 130)
        bitmap[0] = true
        bitmap[63] = true
        bitmap[64] = true
        bitmap[129] = true
        #expect(bitmap.words == [1 | 1 << 63, 1, 1 << 1])
        #expect(bitmap.pages == [0, 63, 64, 129])
        #expect(bitmap.count == 4)
        #expect(DirtyBitmap(pageCount: 3, words: [0xff]).pages == [0, 1, 2])
        #expect(DirtyBitmap(pageCount: 0).words.isEmpty)
    }

    @Test("test-and-clear, union, slice")
    func operations() {
        var a = DirtyBitmap(pageCount: 100, setting: [1, 70])
        let first = a.testAndClear(70)
        let second = a.testAndClear(70)
        #expect(first && !second)
        a.formUnion(DirtyBitmap(pageCount: 100, setting: [2, 99]))
        #expect(a.pages == [1, 2, 99])
        #expect(a.slice(first: 64, count: 36).pages == [35])
        a.removeAll()
        #expect(a.isEmpty)
    }

    @Test("verification: a clean page holding this iteration must be dirty in the next collection")
    func verifierTracksNextIteration() {
        var verifier = DirtyLogVerifier(pages: 4, ringMode: false)
        var memory: [UInt64] = [1, 1, 0, 0]
        verifier.verify(bitmap: DirtyBitmap(pageCount: 4, setting: [0]), iteration: 1) { memory[$0] }
        #expect(verifier.failures == [] && verifier.missing == [])
        memory[1] = 1
        verifier.verify(bitmap: DirtyBitmap(pageCount: 4), iteration: 2) { memory[$0] }
        #expect(verifier.missing == ["page 1 (iteration 2)"])
        memory[3] = 5
        verifier.verify(bitmap: DirtyBitmap(pageCount: 4, setting: [2]), iteration: 3) { memory[$0] }
        #expect(verifier.failures == ["dirty page 2 holds 0 in iteration 3", "clean page 3 holds 5 in iteration 3"])
    }

    @Test("verification in ring mode forgives the last reported page and one page two iterations old")
    func verifierRingSpecialCases() {
        var verifier = DirtyLogVerifier(pages: 3, ringMode: true)
        verifier.lastRingPage = 2
        let memory: [UInt64] = [3, 1, 0]
        verifier.verify(bitmap: DirtyBitmap(pageCount: 3, setting: [0, 1, 2]), iteration: 3) { memory[$0] }
        #expect(verifier.failures == [])
        var strict = DirtyLogVerifier(pages: 3, ringMode: false)
        strict.verify(bitmap: DirtyBitmap(pageCount: 3, setting: [1]), iteration: 3) { memory[$0] }
        #expect(strict.failures == ["dirty page 1 holds 1 in iteration 3"])
    }
}
