/// One bit per page of a memslot, as `KVM_GET_DIRTY_LOG` fills it and `KVM_CLEAR_DIRTY_LOG` takes it: bit `n` of
/// the little-endian 64-bit word `n / 64` is page `n` of the slot. Pure logic (no ioctls), unit-tested.
public struct DirtyBitmap: Equatable, Sendable {
    /// How many pages it covers.
    public let pageCount: Int
    /// The words, `ceil(pageCount / 64)` of them; bits past `pageCount` are always 0.
    public private(set) var words: [UInt64]

    /// A bitmap of `pageCount` clear bits.
    public init(pageCount: Int) {
        precondition(pageCount >= 0, "a bitmap covers 0 or more pages, not \(pageCount)")
        self.pageCount = pageCount
        words = [UInt64](repeating: 0, count: (pageCount + 63) / 64)
    }

    /// A bitmap with `pages` set.
    public init(pageCount: Int, setting pages: some Sequence<Int>) {
        self.init(pageCount: pageCount)
        for page in pages { self[page] = true }
    }

    /// A bitmap of `pageCount` pages from KVM's words; bits past `pageCount` are dropped.
    public init(pageCount: Int, words: [UInt64]) {
        self.init(pageCount: pageCount)
        for index in 0..<min(words.count, self.words.count) { self.words[index] = words[index] }
        clearTail()
    }

    /// Whether page `page` is dirty.
    public subscript(page: Int) -> Bool {
        get {
            precondition(page >= 0 && page < pageCount, "page \(page) is outside a \(pageCount)-page bitmap")
            return words[page >> 6] & (1 << UInt64(page & 63)) != 0
        }
        set {
            precondition(page >= 0 && page < pageCount, "page \(page) is outside a \(pageCount)-page bitmap")
            if newValue { words[page >> 6] |= 1 << UInt64(page & 63) } else { words[page >> 6] &= ~(1 << UInt64(page & 63)) }
        }
    }

    /// Clears page `page` and says whether it was set (`__test_and_clear_bit_le`).
    public mutating func testAndClear(_ page: Int) -> Bool {
        let was = self[page]
        self[page] = false
        return was
    }

    /// How many pages are set.
    public var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    /// Whether no page is set.
    public var isEmpty: Bool { words.allSatisfy { $0 == 0 } }

    /// The set pages, lowest first.
    public var pages: [Int] {
        var result: [Int] = []
        for (index, word) in words.enumerated() {
            var rest = word
            while rest != 0 {
                result.append(index * 64 + rest.trailingZeroBitCount)
                rest &= rest - 1
            }
        }
        return result
    }

    /// Sets every page set in `other` (of the same size).
    public mutating func formUnion(_ other: DirtyBitmap) {
        precondition(other.pageCount == pageCount, "bitmaps of \(pageCount) and \(other.pageCount) pages")
        for index in words.indices { words[index] |= other.words[index] }
    }

    /// Clears every bit.
    public mutating func removeAll() {
        for index in words.indices { words[index] = 0 }
    }

    /// The bits of pages [first, first + count) as a bitmap of its own, for `KVM_CLEAR_DIRTY_LOG`.
    public func slice(first: Int, count: Int) -> DirtyBitmap {
        precondition(first >= 0 && count >= 0 && first + count <= pageCount, "pages \(first)..<\(first + count) of \(pageCount)")
        return DirtyBitmap(pageCount: count, setting: (first..<(first + count)).filter { self[$0] }.map { $0 - first })
    }

    private mutating func clearTail() {
        if pageCount & 63 != 0, let last = words.indices.last { words[last] &= (1 << UInt64(pageCount & 63)) - 1 }
    }
}
