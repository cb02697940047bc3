internal import KVMHarnessStubs

// Placing a stand-alone guest image (an ELFImage) in a VM: the pages its segments need, the checks that it fits
// next to the harness's own structures, and the copy into freshly allocated guest RAM. The ABI is in
// docs/guest-image-abi.md.

/// Why a parsed guest image cannot be placed in a particular VM. `description` is one line: what and what to do.
public enum GuestImageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A segment's pages overlap the guest-virtual region the harness reserves for its own structures
    /// (`KVMH_RESERVED_BASE` to `KVMH_RESERVED_END`).
    case overlapsReservedRegion(segment: Int, start: UInt64, end: UInt64)
    /// A segment's pages cover the identity-mapped page of the ucall MMIO address.
    case overlapsUcallPage(segment: Int, start: UInt64, end: UInt64, ucallAddress: UInt64)
    /// The segments (and the page tables that map them) need more guest RAM than the VM has left.
    case needsMoreMemory(required: UInt64, available: UInt64, memorySize: UInt64)
    /// The image's `ucall_exit_mmio_addr` symbol is not an 8-byte object inside a writable segment.
    case badUcallSymbol(address: UInt64, size: UInt64)
    /// Mapping or copying the image failed for a reason the checks above did not foresee.
    case placementFailed(KVMError)

    public var description: String {
        switch self {
        case .overlapsReservedRegion(let segment, let start, let end):
            return "PT_LOAD segment \(segment) (\(hex(start))-\(hex(end))) overlaps the guest-virtual region the "
                + "harness reserves for itself (\(hex(UInt64(KVMH_RESERVED_BASE)))-\(hex(UInt64(KVMH_RESERVED_END)))): "
                + "link the image in the lower half, e.g. at 0x400000"
        case .overlapsUcallPage(let segment, let start, let end, let ucallAddress):
            return "PT_LOAD segment \(segment) (\(hex(start))-\(hex(end))) covers the page of the ucall MMIO address "
                + "\(hex(ucallAddress)), which the harness identity-maps: choose another ucall address "
                + "(kvm-harness run --ucall-gpa) or link the image elsewhere"
        case .needsMoreMemory(let required, let available, let memorySize):
            return "the image needs \(ByteCount(required)) of guest RAM for its segments and their page tables, "
                + "but only \(ByteCount(available)) of the VM's \(ByteCount(memorySize)) are left: give the VM "
                + "more memory (kvm-harness run --memory MIB)"
        case .badUcallSymbol(let address, let size):
            return "the image's ucall_exit_mmio_addr (at \(hex(address)), \(size) bytes) is not an 8-byte object "
                + "inside a writable segment: define it as `uint64_t ucall_exit_mmio_addr;`"
        case .placementFailed(let error):
            return "can't place the image in guest memory: \(error)"
        }
    }
}

/// The guest-virtual pages a guest image occupies, grouped into runs of pages with the same permissions. Pure: no
/// VM is involved, so it is tested on hand-made segments.
///
/// A page shared by two segments (the end of one and the start of the next) gets the union of their permissions:
/// writable if either is `PF_W`, executable if either is `PF_X`. Pages are never executable unless a `PF_X`
/// segment touches them.
package struct GuestImageLayout: Sendable, Equatable {
    /// A run of consecutive pages with the same permissions.
    package struct Run: Sendable, Equatable {
        /// The first page's guest-virtual address.
        package var address: UInt64
        /// The number of 4 KiB pages.
        package var pageCount: UInt64
        /// Whether the guest may write the pages.
        package var writable: Bool
        /// Whether the guest may execute the pages.
        package var executable: Bool

        /// A run with these fields.
        package init(address: UInt64, pageCount: UInt64, writable: Bool, executable: Bool) {
            self.address = address
            self.pageCount = pageCount
            self.writable = writable
            self.executable = executable
        }

        /// One past the last byte.
        package var end: UInt64 { address + pageCount * 4096 }
    }

    /// The runs, in address order; they do not overlap.
    package let runs: [Run]

    /// The page-aligned range each segment occupies, indexed like `ELFImage.segments` (empty segments have an
    /// empty range).
    package let segmentPages: [Range<UInt64>]

    /// Plans the pages of `segments` (as `ELFImage` returns them: non-overlapping, below 2^47).
    package init(segments: [ELFImage.Segment]) {
        let segmentPages = segments.map { segment in
            guard segment.memorySize > 0 else { return segment.virtualAddress..<segment.virtualAddress }
            return segment.virtualAddress.roundedDown(to: 4096)..<(segment.virtualAddress + segment.memorySize)
                .roundedUp(to: 4096)
        }
        self.segmentPages = segmentPages
        // The same page planning as for in-process code; an image's pages are all copied, and a run is writable
        // exactly where CodeLayout would copy it.
        let loaded = segments.map {
            LoadedSegment(
                address: $0.virtualAddress, size: $0.memorySize, writable: $0.flags.contains(.writable),
                executable: $0.flags.contains(.executable))
        }
        runs = CodeLayout.plan(loaded).map {
            Run(address: $0.address, pageCount: $0.size / 4096, writable: $0.placement == .copied, executable: $0.executable)
        }
    }

    /// The number of pages the segments occupy.
    package var pageCount: UInt64 { runs.reduce(0) { $0 + $1.pageCount } }

    /// The most page-table pages mapping the runs can take: one page table per 2 MiB region touched, one page
    /// directory per 1 GiB, one PDPT per 512 GiB (fewer when the harness's tables already have some of them).
    package var pageTablePageBound: UInt64 {
        [21, 30, 39].reduce(0) { total, shift in
            // Merge the runs' ranges of table indices at this level and count the distinct ones.
            var count: UInt64 = 0
            var lastCounted: UInt64? = nil
            for run in runs {
                let first = run.address >> UInt64(shift)
                let last = (run.end - 1) >> UInt64(shift)
                let start = lastCounted.map { max(first, $0 + 1) } ?? first
                if start <= last { count += last - start + 1 }
                lastCounted = max(lastCounted ?? last, last)
            }
            return total + count
        }
    }

    /// The guest RAM needed in the worst case: the pages plus `pageTablePageBound` table pages.
    package var requiredBytes: UInt64 { (pageCount + pageTablePageBound) * 4096 }

    /// Checks that no segment touches the harness's reserved region or the page of `ucallAddress`.
    package func checkConflicts(ucallAddress: UInt64) throws(GuestImageError) {
        let reserved = UInt64(KVMH_RESERVED_BASE)..<UInt64(KVMH_RESERVED_END)
        let ucallPage = ucallAddress.roundedDown(to: 4096)..<(ucallAddress.roundedDown(to: 4096) + 4096)
        for (index, pages) in segmentPages.enumerated() where !pages.isEmpty {
            if pages.overlaps(reserved) {
                throw .overlapsReservedRegion(segment: index, start: pages.lowerBound, end: pages.upperBound)
            }
            if pages.overlaps(ucallPage) {
                throw .overlapsUcallPage(
                    segment: index, start: pages.lowerBound, end: pages.upperBound, ucallAddress: ucallAddress)
            }
        }
    }
}

extension GuestImageLayout {
    /// Every check `VirtualMachine.load` makes before it touches guest memory, in its order: the segments' pages
    /// against the reserved region and the ucall page, their size (with page tables) against the `available` bytes
    /// of guest RAM, and the `ucall_exit_mmio_addr` symbol. Pure, so the fuzzer runs exactly these checks.
    ///
    /// - Returns: the layout and the address of `ucall_exit_mmio_addr`, if the image has one.
    package static func checkPlacement(
        of image: ELFImage, ucallAddress: UInt64, available: UInt64, memorySize: UInt64? = nil
    ) throws(GuestImageError) -> (GuestImageLayout, ucallSymbolAddress: UInt64?) {
        let layout = GuestImageLayout(segments: image.segments)
        try layout.checkConflicts(ucallAddress: ucallAddress)
        guard layout.requiredBytes <= available else {
            throw .needsMoreMemory(required: layout.requiredBytes, available: available, memorySize: memorySize ?? available)
        }
        guard let symbol = image.symbol(named: "ucall_exit_mmio_addr") else { return (layout, nil) }
        let holder = image.segments.first { $0.contains(symbol.value) && $0.flags.contains(.writable) }
        guard symbol.size == 8 || symbol.size == 0, let holder, holder.memorySize >= 8,
            symbol.value - holder.virtualAddress <= holder.memorySize - 8
        else { throw .badUcallSymbol(address: symbol.value, size: symbol.size) }
        return (layout, symbol.value)
    }
}

/// A guest image placed in a VM.
public struct LoadedGuestImage: Sendable {
    /// Where every vCPU starts (`e_entry`).
    public var entry: UInt64
    /// The pages the image occupies.
    package var layout: GuestImageLayout
    /// The guest-virtual address of the image's `ucall_exit_mmio_addr`, if it has one (the ucall MMIO address was
    /// written there).
    public var ucallSymbolAddress: UInt64?
}

extension VirtualMachine {
    /// Places a stand-alone guest image in the VM: each `PT_LOAD` segment is copied into freshly allocated guest
    /// RAM at guest-virtual `p_vaddr` (zero past `p_filesz`), mapped writable only if `PF_W` and executable only if
    /// `PF_X`; then the ucall MMIO address is stored in the image's `ucall_exit_mmio_addr`, if it has one.
    ///
    /// Add the vCPUs afterwards with `addVCPU(entryAddress: loaded.entry, arguments: [index])`.
    ///
    /// - Throws: `.overlapsReservedRegion` or `.overlapsUcallPage` if a segment collides with the harness's own
    ///   mappings, `.needsMoreMemory` if the segments do not fit in the guest RAM left, `.badUcallSymbol`, or
    ///   `.placementFailed` for any other mapping failure. Nothing is mapped when a check fails.
    @discardableResult
    public func load(_ image: ELFImage) throws(GuestImageError) -> LoadedGuestImage {
        let (layout, ucallSymbolAddress) = try GuestImageLayout.checkPlacement(
            of: image, ucallAddress: ucallAddress, available: allocator.available,
            memorySize: configuration.memorySize)
        do throws(KVMError) {
            for run in layout.runs {
                try allocate(
                    gva: run.address, size: run.pageCount * 4096, writable: run.writable, executable: run.executable)
            }
            // Fresh guest RAM is zero, so the bytes past p_filesz need no clearing.
            for segment in image.segments where !segment.data.isEmpty {
                try write(contentsOf: segment.data, at: segment.virtualAddress)
            }
            if let ucallSymbolAddress { try write(ucallAddress, at: ucallSymbolAddress) }
        } catch {
            if case .outOfGuestMemory = error {
                throw .needsMoreMemory(
                    required: layout.requiredBytes, available: allocator.available,
                    memorySize: configuration.memorySize)
            }
            throw .placementFailed(error)
        }
        return LoadedGuestImage(entry: image.entry, layout: layout, ucallSymbolAddress: ucallSymbolAddress)
    }
}
