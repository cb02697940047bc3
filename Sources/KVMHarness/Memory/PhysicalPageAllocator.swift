/// Hands out page-aligned guest-physical ranges from one region, lowest first, never reusing them.
///
/// Pages it returns have never been handed out before, so in fresh anonymous memory they are zero.
package struct PhysicalPageAllocator: Sendable {
    /// The page size, 4 KiB.
    package static let pageSize: UInt64 = 4096

    /// The next free guest-physical address.
    package private(set) var next: UInt64
    /// One past the last address of the region.
    package let end: UInt64

    /// An allocator for [start, end); both are rounded inwards to page boundaries.
    package init(start: UInt64, end: UInt64) {
        next = start.roundedUp(to: Self.pageSize)
        self.end = end & ~(Self.pageSize - 1)
    }

    /// Bytes left.
    package var available: UInt64 { end > next ? end - next : 0 }

    /// Allocates `size` bytes (rounded up to whole pages), aligned to `alignment` (a power of two, at least a page).
    package mutating func allocate(_ size: UInt64, alignment: UInt64 = PhysicalPageAllocator.pageSize)
        throws(KVMError) -> UInt64
    {
        let pages = size.roundedUp(to: Self.pageSize)
        let start = next.roundedUp(to: max(alignment, Self.pageSize))
        guard start <= end, pages <= end - start else {
            throw .outOfGuestMemory(requested: pages, available: available)
        }
        next = start + pages
        return start
    }
}

extension UInt64 {
    /// The value rounded up to a multiple of `alignment`, a power of two.
    @inline(__always)
    func roundedUp(to alignment: UInt64) -> UInt64 { (self &+ (alignment - 1)) & ~(alignment - 1) }

    /// The value rounded down to a multiple of `alignment`, a power of two.
    @inline(__always)
    func roundedDown(to alignment: UInt64) -> UInt64 { self & ~(alignment - 1) }
}
