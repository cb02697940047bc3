/// One loaded segment of an ELF object in the host process: where it is and what it may do.
package struct LoadedSegment: Sendable, Equatable {
    /// Its first byte's address in the host process (and in the guest).
    package var address: UInt64
    /// Its size in memory (`p_memsz`).
    package var size: UInt64
    /// `PF_W`.
    package var writable: Bool
    /// `PF_X`.
    package var executable: Bool

    /// Creates a segment description.
    package init(address: UInt64, size: UInt64, writable: Bool, executable: Bool) {
        self.address = address
        self.size = size
        self.writable = writable
        self.executable = executable
    }
}

/// A run of whole pages that the guest sees in one way.
package struct PageRun: Sendable, Equatable {
    /// How the guest gets the pages.
    package enum Placement: Sendable, Equatable {
        /// Mapped from the host into a read-only memslot: the guest reads the host's bytes and cannot change them.
        case sharedReadOnly
        /// Copied into guest RAM when the VM is made: the guest gets its own writable copy.
        case copied
    }

    /// First page's address (host and guest).
    package var address: UInt64
    /// Length in bytes, whole pages.
    package var size: UInt64
    /// How the guest gets the pages.
    package var placement: Placement
    /// Whether the guest may execute them.
    package var executable: Bool

    /// A run with these fields.
    package init(address: UInt64, size: UInt64, placement: Placement, executable: Bool) {
        self.address = address
        self.size = size
        self.placement = placement
        self.executable = executable
    }
}

/// Plans how the host's code and data reach the guest at the same virtual addresses. Pure logic.
///
/// Pages that only read-only segments touch (code, constants, string literals) are shared read-only: a memslot
/// with `KVM_MEM_READONLY` over the host's own pages, which costs nothing however large the binary is. Pages that a
/// writable segment touches (globals, the GOT, .bss) are copied, so each VM has private globals and a guest can
/// never write host memory. A page touched by both is copied, and executable if any segment is.
package enum CodeLayout {
    /// The runs for `segments`, in address order, merging neighbours that are placed alike.
    ///
    /// A sweep over the segments' page-rounded boundaries: the cost grows with the number of segments, never with
    /// their sizes, so an image whose `p_memsz` claims 2^47 bytes is planned (and then refused by the fit check)
    /// at once instead of recording 2^35 pages first.
    package static func plan(_ segments: [LoadedSegment], pageSize: UInt64 = 4096) -> [PageRun] {
        // Each segment opens its pages at `start` and closes them at `end`; between two consecutive boundaries the
        // set of covering segments does not change, so neither does the placement.
        struct Boundary {
            var address: UInt64
            var delta: Int  // +1 opens, -1 closes
            var writable: Bool
            var executable: Bool
        }
        var boundaries: [Boundary] = []
        boundaries.reserveCapacity(segments.count * 2)
        for segment in segments where segment.size > 0 {
            let start = segment.address.roundedDown(to: pageSize)
            let end = (segment.address &+ segment.size).roundedUp(to: pageSize)
            guard start < end else { continue }  // wraps past 2^64: callers never pass such a segment
            boundaries.append(Boundary(address: start, delta: 1, writable: segment.writable, executable: segment.executable))
            boundaries.append(Boundary(address: end, delta: -1, writable: segment.writable, executable: segment.executable))
        }
        boundaries.sort { $0.address < $1.address }
        var covering = 0
        var writers = 0
        var executors = 0
        var runs: [PageRun] = []
        var index = 0
        while index < boundaries.count {
            let address = boundaries[index].address
            while index < boundaries.count, boundaries[index].address == address {
                let boundary = boundaries[index]
                covering += boundary.delta
                if boundary.writable { writers += boundary.delta }
                if boundary.executable { executors += boundary.delta }
                index += 1
            }
            guard covering > 0, index < boundaries.count else { continue }
            let size = boundaries[index].address - address
            let placement: PageRun.Placement = writers > 0 ? .copied : .sharedReadOnly
            let executable = executors > 0
            if var last = runs.last, last.address + last.size == address, last.placement == placement,
                last.executable == executable
            {
                last.size += size
                runs[runs.count - 1] = last
            } else {
                runs.append(PageRun(address: address, size: size, placement: placement, executable: executable))
            }
        }
        return runs
    }
}
