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
}

/// Plans how the host's code and data reach the guest at the same virtual addresses. Pure logic.
///
/// Pages that only read-only segments touch (code, constants, string literals) are shared read-only: a memslot
/// with `KVM_MEM_READONLY` over the host's own pages, which costs nothing however large the binary is. Pages that a
/// writable segment touches (globals, the GOT, .bss) are copied, so each VM has private globals and a guest can
/// never write host memory. A page touched by both is copied, and executable if any segment is.
package enum CodeLayout {
    /// The runs for `segments`, in address order, merging neighbours that are placed alike.
    package static func plan(_ segments: [LoadedSegment], pageSize: UInt64 = 4096) -> [PageRun] {
        var pages: [UInt64: (writable: Bool, executable: Bool)] = [:]
        for segment in segments where segment.size > 0 {
            var page = segment.address.roundedDown(to: pageSize)
            let end = (segment.address + segment.size).roundedUp(to: pageSize)
            while page < end {
                let old = pages[page] ?? (false, false)
                pages[page] = (old.writable || segment.writable, old.executable || segment.executable)
                page += pageSize
            }
        }
        var runs: [PageRun] = []
        for page in pages.keys.sorted() {
            let kind = pages[page]!
            let placement: PageRun.Placement = kind.writable ? .copied : .sharedReadOnly
            if var last = runs.last, last.address + last.size == page, last.placement == placement,
                last.executable == kind.executable
            {
                last.size += pageSize
                runs[runs.count - 1] = last
            } else {
                runs.append(PageRun(address: page, size: pageSize, placement: placement, executable: kind.executable))
            }
        }
        return runs
    }
}
