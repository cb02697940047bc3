import KVMHarness
import KVMHarnessStubs
import KVMHarnessReporting
import Testing

// Planning where an image's pages go, and the conflicts that make an image unloadable: pure, no VM.

/// A segment built through the real ELF parser's type: the test builds a minimal ELF with these PT_LOADs.
private func segments(_ specs: [(address: UInt64, size: UInt64, flags: UInt32)]) throws -> [ELFImage.Segment] {
    try ELFImage(bytes: MinimalELF.build(entry: specs[0].address, segments: specs)).segments
}

@Suite("GuestImageLayout: pages, permissions, conflicts")
struct GuestImageLayoutTests {
    @Test("separate pages keep their own permissions")
    func separatePages() throws {
        let layout = GuestImageLayout(segments: try segments([
            (0x40_0000, 0x1800, 5), (0x40_2000, 0x100, 4), (0x40_3000, 0x3000, 6),
        ]))
        #expect(layout.runs == [
            .init(address: 0x40_0000, pageCount: 2, writable: false, executable: true),
            .init(address: 0x40_2000, pageCount: 1, writable: false, executable: false),
            .init(address: 0x40_3000, pageCount: 3, writable: true, executable: false),
        ])
        #expect(layout.pageCount == 6)
        #expect(layout.pageTablePageBound == 3)  // one PT, one PD, one PDPT
        #expect(layout.requiredBytes == 9 * 4096)
    }

    @Test("a page shared by code and data gets both permissions")
    func sharedPage() throws {
        let layout = GuestImageLayout(segments: try segments([(0x40_0000, 0x1100, 5), (0x40_1100, 0x2000, 6)]))
        #expect(layout.runs == [
            .init(address: 0x40_0000, pageCount: 1, writable: false, executable: true),
            .init(address: 0x40_1000, pageCount: 1, writable: true, executable: true),
            .init(address: 0x40_2000, pageCount: 2, writable: true, executable: false),
        ])
    }

    @Test("page tables are counted once per 2 MiB, 1 GiB and 512 GiB region touched")
    func tableBound() throws {
        let layout = GuestImageLayout(segments: try segments([(0x1f_f000, 0x2000, 5), (0x80_0000_0000, 0x1000, 6)]))
        // PTs: 0x0-0x200000 and 0x200000-0x400000, plus one at 512 GiB = 3; PDs: 2; PDPTs: 2.
        #expect(layout.pageTablePageBound == 7)
    }

    @Test("an image may not cover the ucall page")
    func ucallPage() throws {
        let layout = GuestImageLayout(segments: try segments([(0x40_0000, 0x3000, 5)]))
        #expect(throws: GuestImageError.overlapsUcallPage(segment: 0, start: 0x40_0000, end: 0x40_3000, ucallAddress: 0x40_2ff8)) {
            try layout.checkConflicts(ucallAddress: 0x40_2ff8)
        }
        try layout.checkConflicts(ucallAddress: 0x5000_0000_0000)
        #expect(
            GuestImageError.overlapsUcallPage(segment: 0, start: 0x40_0000, end: 0x40_3000, ucallAddress: 0x40_2ff8)
                .description.contains("--ucall-gpa"))
    }

    // Before the boundary sweep, planning recorded every page of every segment before the fit check: a 64 GiB
    // p_memsz had not finished after a minute, with memory still growing. The limit makes that a failure.
    @Test("a segment claiming 2^47 bytes is planned at once, and needs more than any VM has", .timeLimit(.minutes(1)))
    func hugeSegment() throws {
        let layout = GuestImageLayout(segments: try segments([(0x1000, 0x7fff_ffff_e000, 5)]))
        #expect(layout.runs == [.init(address: 0x1000, pageCount: 0x7_ffff_fffe, writable: false, executable: true)])
        #expect(layout.requiredBytes > 0x7fff_ffff_e000)
    }

    @Test("the sweep plans exactly what a page-by-page plan does, on random segments")
    func sweepMatchesPageByPage() {
        var state: UInt64 = 0x1234_5678
        func next() -> UInt64 {  // SplitMix64
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
        for _ in 0..<500 {
            let segments = (0..<(1 + next() % 6)).map { _ in
                LoadedSegment(
                    address: 0x40_0000 + next() % 0x8000, size: next() % 0x5000, writable: next() % 2 == 0,
                    executable: next() % 2 == 0)
            }
            #expect(CodeLayout.plan(segments) == pageByPage(segments), "\(segments)")
        }
    }

    @Test("the errors are one line and name the sizes")
    func messages() {
        let text = GuestImageError.needsMoreMemory(required: 5 << 20, available: 900 << 10, memorySize: 1 << 20)
            .description
        #expect(text.contains("5 MiB") && text.contains("900 KiB") && text.contains("1 MiB"), "\(text)")
        let reserved = GuestImageError.overlapsReservedRegion(segment: 1, start: 0, end: 0x1000).description
        #expect(reserved.contains(String(UInt64(KVMH_RESERVED_BASE), radix: 16)))
        for error in [text, reserved] { #expect(!error.contains("\n")) }
    }
}

/// The plan as the definition says it: each page gets the union of the permissions of the segments touching it;
/// neighbours placed alike merge.
private func pageByPage(_ segments: [LoadedSegment]) -> [PageRun] {
    var pages: [UInt64: (writable: Bool, executable: Bool)] = [:]
    for segment in segments where segment.size > 0 {
        var page = segment.address & ~0xfff
        while page < (segment.address + segment.size + 0xfff) & ~0xfff {
            let old = pages[page] ?? (false, false)
            pages[page] = (old.writable || segment.writable, old.executable || segment.executable)
            page += 4096
        }
    }
    var runs: [PageRun] = []
    for page in pages.keys.sorted() {
        let (writable, executable) = pages[page]!
        let placement: PageRun.Placement = writable ? .copied : .sharedReadOnly
        if let last = runs.last, last.address + last.size == page, last.placement == placement,
            last.executable == executable
        {
            runs[runs.count - 1].size += 4096
        } else {
            runs.append(PageRun(address: page, size: 4096, placement: placement, executable: executable))
        }
    }
    return runs
}

/// Builds the smallest ELF64 x86-64 ET_EXEC with the given PT_LOADs (their bytes all zero, in one file blob).
enum MinimalELF {
    static func build(entry: UInt64, segments: [(address: UInt64, size: UInt64, flags: UInt32)]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 64 + 56 * segments.count)
        func put(_ value: UInt64, at offset: Int, width: Int) {
            for i in 0..<width { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
        }
        bytes[0...3] = [0x7f, 0x45, 0x4c, 0x46]
        bytes[4] = 2  // ELFCLASS64
        bytes[5] = 1  // little-endian
        bytes[6] = 1
        put(2, at: 16, width: 2)  // ET_EXEC
        put(62, at: 18, width: 2)  // EM_X86_64
        put(1, at: 20, width: 4)
        put(entry, at: 24, width: 8)
        put(64, at: 32, width: 8)  // e_phoff
        put(64, at: 52, width: 2)
        put(56, at: 54, width: 2)
        put(UInt64(segments.count), at: 56, width: 2)
        for (index, segment) in segments.enumerated() {
            let base = 64 + 56 * index
            put(1, at: base, width: 4)  // PT_LOAD
            put(UInt64(segment.flags), at: base + 4, width: 4)
            put(0, at: base + 8, width: 8)  // p_offset
            put(segment.address, at: base + 16, width: 8)
            put(segment.address, at: base + 24, width: 8)
            put(0, at: base + 32, width: 8)  // p_filesz
            put(segment.size, at: base + 40, width: 8)
            put(4096, at: base + 48, width: 8)
        }
        return bytes
    }
}
