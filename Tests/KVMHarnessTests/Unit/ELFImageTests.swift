import Testing

@testable import KVMHarness

// Tests for the guest image parser. Every image is built here, byte by byte, by ELFBuilder.

/// Builds small ELF64 files: header, program headers, segment bytes, then optionally a symbol table with its string
/// table, a section name table and the section headers. Fields can be overridden to make broken files.
private struct ELFBuilder {
    /// One program header and, for PT_LOAD, the bytes it carries.
    struct ProgramHeader {
        var type: UInt32 = 1  // PT_LOAD
        var flags: UInt32
        var virtualAddress: UInt64
        var data: [UInt8]
        var memorySize: UInt64
        /// Replaces p_filesz (which is otherwise data.count).
        var fileSizeOverride: UInt64? = nil
        /// Replaces p_offset (which is otherwise where data is placed).
        var offsetOverride: UInt64? = nil
    }

    /// One symbol table entry.
    struct SymbolEntry {
        var name: String
        var value: UInt64
        var size: UInt64
        var info: UInt8 = 0x11  // STB_GLOBAL, STT_OBJECT
        var sectionIndex: UInt16 = 1
    }

    var elfClass: UInt8 = 2  // ELFCLASS64
    var dataEncoding: UInt8 = 1  // ELFDATA2LSB
    var type: UInt16 = 2  // ET_EXEC
    var machine: UInt16 = 62  // EM_X86_64
    var entry: UInt64 = 0x40_1000
    var programHeaders: [ProgramHeader] = []
    /// nil: no section headers at all (a stripped image).
    var symbols: [SymbolEntry]? = nil
    /// SHT_SYMTAB (2) or SHT_DYNSYM (11).
    var symbolTableType: UInt32 = 2

    /// The usual two-segment image: code at 0x401000 (R-X), data and bss at 0x402000 (RW-).
    static func twoSegments() -> ELFBuilder {
        var builder = ELFBuilder()
        builder.programHeaders = [
            ProgramHeader(flags: 5, virtualAddress: 0x40_1000, data: [0xF4, 0xEB, 0xFD, 0x90], memorySize: 4),
            ProgramHeader(flags: 6, virtualAddress: 0x40_2000, data: Array(1...16), memorySize: 0x40),
        ]
        return builder
    }

    func build() -> [UInt8] {
        var out: [UInt8] = []
        let headerSize = 64
        let programHeaderSize = 56
        let programHeaderTable = headerSize
        var cursor = programHeaderTable + programHeaderSize * programHeaders.count
        var dataOffsets: [Int] = []
        for ph in programHeaders {
            cursor = (cursor + 15) & ~15
            dataOffsets.append(cursor)
            cursor += ph.data.count
        }
        let segmentsEnd = cursor

        // Section contents: .symtab, .strtab, .shstrtab.
        var symtab: [UInt8] = []
        var strtab: [UInt8] = [0]
        let shstrtab: [UInt8] = Array("\0.symtab\0.strtab\0.shstrtab\0".utf8)
        if let symbols {
            symtab += [UInt8](repeating: 0, count: 24)  // the null symbol
            for symbol in symbols {
                let nameOffset = UInt32(strtab.count)
                strtab += Array(symbol.name.utf8) + [0]
                symtab +=
                    bytesLE(nameOffset) + [symbol.info, 0] + bytesLE(symbol.sectionIndex) + bytesLE(symbol.value)
                    + bytesLE(symbol.size)
            }
        }
        let symtabOffset = (segmentsEnd + 7) & ~7
        let strtabOffset = symtabOffset + symtab.count
        let shstrtabOffset = strtabOffset + strtab.count
        let sectionHeaderTable = (shstrtabOffset + shstrtab.count + 7) & ~7

        // ELF header.
        out += [0x7F, 0x45, 0x4C, 0x46, elfClass, dataEncoding, 1, 0] + [UInt8](repeating: 0, count: 8)
        out += bytesLE(type) + bytesLE(machine) + bytesLE(UInt32(1)) + bytesLE(entry)
        out += bytesLE(UInt64(programHeaderTable)) + bytesLE(UInt64(symbols == nil ? 0 : sectionHeaderTable))
        out += bytesLE(UInt32(0)) + bytesLE(UInt16(headerSize)) + bytesLE(UInt16(programHeaderSize))
        out += bytesLE(UInt16(programHeaders.count)) + bytesLE(UInt16(64)) + bytesLE(UInt16(symbols == nil ? 0 : 4))
        out += bytesLE(UInt16(symbols == nil ? 0 : 3))
        precondition(out.count == headerSize)

        // Program headers.
        for (ph, offset) in zip(programHeaders, dataOffsets) {
            out +=
                bytesLE(ph.type) + bytesLE(ph.flags) + bytesLE(ph.offsetOverride ?? UInt64(offset))
                + bytesLE(ph.virtualAddress)
            out +=
                bytesLE(ph.virtualAddress) + bytesLE(ph.fileSizeOverride ?? UInt64(ph.data.count))
                + bytesLE(ph.memorySize)
            out += bytesLE(UInt64(0x1000))
        }
        // Segment bytes.
        for (ph, offset) in zip(programHeaders, dataOffsets) {
            pad(&out, to: offset)
            out += ph.data
        }
        guard symbols != nil else { return out }

        pad(&out, to: symtabOffset)
        out += symtab + strtab + shstrtab
        pad(&out, to: sectionHeaderTable)
        func section(name: UInt32, type: UInt32, offset: Int, size: Int, link: UInt32, info: UInt32, entsize: UInt64)
            -> [UInt8]
        {
            bytesLE(name) + bytesLE(type) + bytesLE(UInt64(0)) + bytesLE(UInt64(0)) + bytesLE(UInt64(offset))
                + bytesLE(UInt64(size)) + bytesLE(link)
                + bytesLE(info) + bytesLE(UInt64(1)) + bytesLE(entsize)
        }
        out += [UInt8](repeating: 0, count: 64)  // SHN_UNDEF
        out += section(
            name: 1, type: symbolTableType, offset: symtabOffset, size: symtab.count, link: 2, info: 1, entsize: 24)
        out += section(name: 9, type: 3, offset: strtabOffset, size: strtab.count, link: 0, info: 0, entsize: 0)
        out += section(name: 17, type: 3, offset: shstrtabOffset, size: shstrtab.count, link: 0, info: 0, entsize: 0)
        return out
    }

    private func pad(_ bytes: inout [UInt8], to offset: Int) {
        precondition(bytes.count <= offset)
        bytes += [UInt8](repeating: 0, count: offset - bytes.count)
    }
}

/// The little-endian bytes of `value`.
private func bytesLE<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    (0..<MemoryLayout<T>.size).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
}

/// Overwrites bytes of `image` at `offset` with the little-endian bytes of `value`.
private func patchLE<T: FixedWidthInteger>(_ image: inout [UInt8], at offset: Int, _ value: T) {
    image.replaceSubrange(offset..<offset + MemoryLayout<T>.size, with: bytesLE(value))
}

/// Parses `bytes`, returning the error it throws (nil if it parses).
private func elfParseError(_ bytes: [UInt8]) -> ELFError? {
    do {
        _ = try ELFImage(bytes: bytes)
        return nil
    } catch {
        return error
    }
}


@Suite("ELFImage")
struct ELFImageTests {
    @Test("a valid two-segment image: entry, segments, flags, data and symbols")
    func validImage() throws {
        var builder = ELFBuilder.twoSegments()
        builder.symbols = [
            .init(name: "_start", value: 0x40_1000, size: 4, info: 0x12),  // STB_GLOBAL, STT_FUNC
            .init(name: "ucall_exit_mmio_addr", value: 0x40_2010, size: 8),
        ]
        let image = try ELFImage(bytes: builder.build())

        #expect(image.entry == 0x40_1000)
        #expect(image.segments.count == 2)
        let code = image.segments[0]
        #expect(code.virtualAddress == 0x40_1000)
        #expect(code.memorySize == 4)
        #expect(code.fileSize == 4)
        #expect(code.flags == [.readable, .executable])
        #expect(code.data == [0xF4, 0xEB, 0xFD, 0x90])
        #expect(code.addressRange == 0x40_1000..<0x40_1004)
        let data = image.segments[1]
        #expect(data.virtualAddress == 0x40_2000)
        #expect(data.memorySize == 0x40)
        #expect(data.fileSize == 16)
        #expect(data.flags == [.readable, .writable])
        #expect(!data.flags.contains(.executable))
        #expect(data.data == Array(1...16))
        #expect(data.fileOffset % 16 == 0)
        #expect(data.contains(0x40_203F))
        #expect(!data.contains(0x40_2040))

        #expect(
            image.symbol(named: "ucall_exit_mmio_addr")
                == ELFImage.Symbol(name: "ucall_exit_mmio_addr", value: 0x40_2010, size: 8))
        #expect(image.symbol(named: "_start")?.value == 0x40_1000)
        #expect(image.symbol(named: "missing") == nil)
        #expect(image.symbol(named: "") == nil)
    }

    @Test("segment bytes come from p_offset, not from where the builder happened to put them")
    func segmentDataFollowsOffset() throws {
        var builder = ELFBuilder.twoSegments()
        builder.programHeaders[1].offsetOverride = 0  // the ELF header's first 16 bytes
        let image = try ELFImage(bytes: builder.build())
        #expect(image.segments[1].data == [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(image.segments[1].fileOffset == 0)
    }

    @Test("a stripped image parses and has no symbols")
    func strippedImage() throws {
        let image = try ELFImage(bytes: ELFBuilder.twoSegments().build())
        #expect(image.symbol(named: "ucall_exit_mmio_addr") == nil)
        #expect(image.segments.count == 2)
    }

    @Test("without SHT_SYMTAB, symbols come from SHT_DYNSYM")
    func dynsymFallback() throws {
        var builder = ELFBuilder.twoSegments()
        builder.symbols = [.init(name: "ucall_exit_mmio_addr", value: 0x40_2010, size: 8)]
        builder.symbolTableType = 11
        let image = try ELFImage(bytes: builder.build())
        #expect(image.symbol(named: "ucall_exit_mmio_addr")?.value == 0x40_2010)
    }

    @Test("undefined symbols are not found; a global definition wins over a local one")
    func symbolSelection() throws {
        var builder = ELFBuilder.twoSegments()
        builder.symbols = [
            .init(name: "undefined", value: 0, size: 0, sectionIndex: 0),
            .init(name: "twice", value: 0x40_2000, size: 1, info: 0x01),  // STB_LOCAL
            .init(name: "twice", value: 0x40_2008, size: 8, info: 0x11),  // STB_GLOBAL
            .init(name: "twice", value: 0x40_2018, size: 8, info: 0x01),  // STB_LOCAL again
            .init(name: "absolute", value: 0x1234, size: 0, sectionIndex: 0xFFF1),  // SHN_ABS
        ]
        let image = try ELFImage(bytes: builder.build())
        #expect(image.symbol(named: "undefined") == nil)
        #expect(image.symbol(named: "twice") == ELFImage.Symbol(name: "twice", value: 0x40_2008, size: 8))
        #expect(image.symbol(named: "absolute")?.value == 0x1234)
    }

    @Test("broken section headers or symbol tables leave a loadable image with no symbols")
    func brokenSectionsAreNotFatal() throws {
        var builder = ELFBuilder.twoSegments()
        builder.symbols = [.init(name: "ucall_exit_mmio_addr", value: 0x40_2010, size: 8)]
        let good = builder.build()
        let shoff = Int(good[40]) | Int(good[41]) << 8 | Int(good[42]) << 16
        let symtabHeader = shoff + 64
        let strtabHeader = shoff + 128

        var mutations: [(String, (inout [UInt8]) -> Void)] = [
            (
                "e_shoff past the end",
                {
                    let size = $0.count
                    patchLE(&$0, at: 40, UInt64(size))
                }
            ),
            ("e_shoff huge", { patchLE(&$0, at: 40, UInt64.max - 8) }),
            ("e_shentsize too small", { patchLE(&$0, at: 58, UInt16(40)) }),
            ("e_shnum huge", { patchLE(&$0, at: 60, UInt16(0xFFFE)) }),
            (
                "e_shnum 0, section 0 sh_size huge",
                {
                    patchLE(&$0, at: 60, UInt16(0))
                    patchLE(&$0, at: shoff + 32, UInt64.max)
                }
            ),
            ("symtab sh_offset huge", { patchLE(&$0, at: symtabHeader + 24, UInt64.max) }),
            ("symtab sh_size huge", { patchLE(&$0, at: symtabHeader + 32, UInt64.max - 100) }),
            ("symtab sh_link out of range", { patchLE(&$0, at: symtabHeader + 40, UInt32.max) }),
            ("symtab sh_link to itself", { patchLE(&$0, at: symtabHeader + 40, UInt32(1)) }),
            ("symtab sh_entsize too small", { patchLE(&$0, at: symtabHeader + 56, UInt64(8)) }),
            ("symtab sh_entsize huge", { patchLE(&$0, at: symtabHeader + 56, UInt64.max) }),
            ("strtab sh_offset huge", { patchLE(&$0, at: strtabHeader + 24, UInt64.max) }),
            ("strtab sh_size huge", { patchLE(&$0, at: strtabHeader + 32, UInt64.max) }),
            ("strtab empty", { patchLE(&$0, at: strtabHeader + 32, UInt64(0)) }),
            ("strtab cut before the name's NUL", { patchLE(&$0, at: strtabHeader + 32, UInt64(5)) }),
        ]
        mutations.append(("no section table at all", { patchLE(&$0, at: 40, UInt64(0)) }))

        for (name, mutate) in mutations {
            var bytes = good
            mutate(&bytes)
            let image = try ELFImage(bytes: bytes)
            #expect(image.symbol(named: "ucall_exit_mmio_addr") == nil, "\(name)")
            #expect(image.segments.count == 2, "\(name)")
        }

        // Symbol names whose st_name is past the string table are skipped, not fatal.
        var bytes = good
        let symtabOffset = Int(bytes[symtabHeader + 24]) | Int(bytes[symtabHeader + 25]) << 8
        patchLE(&bytes, at: symtabOffset + 24, UInt32.max)
        #expect(try ELFImage(bytes: bytes).symbol(named: "ucall_exit_mmio_addr") == nil)
    }

    @Test("not an ELF file")
    func notELF() {
        #expect(elfParseError(Array("#!/bin/sh\necho hello\n".utf8)) == .notELF)
        var bytes = ELFBuilder.twoSegments().build()
        bytes[1] = UInt8(ascii: "e")
        #expect(elfParseError(bytes) == .notELF)
        #expect(elfParseError([0x7F, 0x45, 0x00]) == .notELF)
    }

    @Test("every prefix of a valid image throws, and none crashes")
    func everyPrefixThrows() throws {
        let full = ELFBuilder.twoSegments().build()
        _ = try ELFImage(bytes: full)
        var truncatedCount = 0
        for length in 0..<full.count {
            let error = elfParseError(Array(full.prefix(length)))
            #expect(error != nil, "a \(length)-byte prefix parsed")
            if case .truncated = error { truncatedCount += 1 }
        }
        #expect(truncatedCount == full.count)
        #expect(elfParseError([]) == .truncated(what: "the 64-byte ELF header (the file has 0 bytes)"))
    }

    @Test("every prefix of an image with symbols either throws or parses, never crashes")
    func everyPrefixOfImageWithSymbols() throws {
        var builder = ELFBuilder.twoSegments()
        builder.symbols = [.init(name: "ucall_exit_mmio_addr", value: 0x40_2010, size: 8)]
        let full = builder.build()
        #expect(try ELFImage(bytes: full).symbol(named: "ucall_exit_mmio_addr") != nil)
        for length in 0..<full.count {
            if let image = try? ELFImage(bytes: Array(full.prefix(length))) {
                // Only the section headers were cut, so there is no symbol table any more.
                #expect(image.symbol(named: "ucall_exit_mmio_addr") == nil)
            }
        }
    }

    @Test("truncation is reported for the header, the program headers and a segment's bytes")
    func truncationPoints() {
        let full = ELFBuilder.twoSegments().build()
        guard case .truncated(let header) = elfParseError(Array(full.prefix(63))) else {
            Issue.record("a 63-byte prefix did not report truncation")
            return
        }
        #expect(header.contains("ELF header"))
        guard case .truncated(let table) = elfParseError(Array(full.prefix(64 + 56 + 10))) else {
            Issue.record("a prefix ending in the program headers did not report truncation")
            return
        }
        #expect(table.contains("program header table"))
        guard case .truncated(let segment) = elfParseError(Array(full.prefix(full.count - 1))) else {
            Issue.record("a prefix ending in the last segment did not report truncation")
            return
        }
        #expect(segment.contains("program header 1"))
    }

    @Test("hostile header values throw instead of trapping")
    func hostileValues() {
        let good = ELFBuilder.twoSegments().build()
        let cases: [(String, Int, UInt64, Int)] = [
            // (what, offset, value, width)
            ("e_phoff huge", 32, UInt64.max, 8),
            ("e_phoff near the end", 32, UInt64(good.count - 8), 8),
            ("e_phnum huge", 56, 0xFFFE, 2),
            ("e_phnum PN_XNUM without sections", 56, 0xFFFF, 2),
            ("p_offset huge", 64 + 8, UInt64.max, 8),
            ("p_offset plus p_filesz wraps", 64 + 8, UInt64.max - 1, 8),
            ("p_filesz huge", 64 + 32, UInt64.max, 8),
            ("p_vaddr top of memory", 64 + 16, UInt64.max, 8),
        ]
        for (what, offset, value, width) in cases {
            var bytes = good
            if width == 8 { patchLE(&bytes, at: offset, value) } else { patchLE(&bytes, at: offset, UInt16(value)) }
            #expect(elfParseError(bytes) != nil, "\(what)")
        }

        var smallEntries = good
        patchLE(&smallEntries, at: 54, UInt16(32))
        #expect(elfParseError(smallEntries) == .badProgramHeaderEntrySize(32))

        var noHeaders = good
        patchLE(&noHeaders, at: 56, UInt16(0))
        #expect(elfParseError(noHeaders) == .noLoadableSegments)
    }

    @Test("random byte mutations never crash the parser")
    func randomMutations() {
        var builder = ELFBuilder.twoSegments()
        builder.symbols = [
            .init(name: "_start", value: 0x40_1000, size: 4, info: 0x12),
            .init(name: "ucall_exit_mmio_addr", value: 0x40_2010, size: 8),
        ]
        let good = builder.build()
        var random = SplitMix64(state: 0x5EED)
        for _ in 0..<3000 {
            var bytes = good
            for _ in 0..<Int.random(in: 1...8, using: &random) {
                let index = Int.random(in: 0..<bytes.count, using: &random)
                bytes[index] =
                    Bool.random(using: &random)
                    ? UInt8.random(in: 0...255, using: &random) : [0, 0xFF, 0x80][index % 3]
            }
            if let image = try? ELFImage(bytes: bytes) {
                _ = image.symbol(named: "ucall_exit_mmio_addr")
                for segment in image.segments {
                    #expect(UInt64(segment.data.count) == segment.fileSize)
                    #expect(segment.fileSize <= segment.memorySize)
                }
            }
        }
    }

    @Test("ELFCLASS32 is rejected")
    func wrongClass() {
        var builder = ELFBuilder.twoSegments()
        builder.elfClass = 1
        #expect(elfParseError(builder.build()) == .wrongClass)
    }

    @Test("big-endian is rejected")
    func bigEndian() {
        var builder = ELFBuilder.twoSegments()
        builder.dataEncoding = 2
        #expect(elfParseError(builder.build()) == .wrongEndianness)
    }

    @Test("a machine other than x86-64 is rejected")
    func wrongMachine() {
        var builder = ELFBuilder.twoSegments()
        builder.machine = 183
        #expect(elfParseError(builder.build()) == .wrongMachine(183))
        #expect(ELFError.wrongMachine(183).description.contains("EM_AARCH64"))
    }

    @Test("ET_DYN (PIE) and ET_REL are rejected, with the fix in the message", arguments: [UInt16(1), 3, 4, 0])
    func notExecutable(type: UInt16) {
        var builder = ELFBuilder.twoSegments()
        builder.type = type
        let error = elfParseError(builder.build())
        #expect(error == .notExecutable(type: type))
        #expect(error?.description.contains("-static -no-pie") == true)
    }

    @Test("PT_INTERP (a dynamically linked executable) is rejected")
    func dynamicallyLinked() {
        var builder = ELFBuilder.twoSegments()
        builder.programHeaders.insert(
            .init(type: 3, flags: 4, virtualAddress: 0x40_0000, data: Array("/lib/ld.so\0".utf8), memorySize: 11),
            at: 0)
        #expect(elfParseError(builder.build()) == .dynamicallyLinked)
    }

    @Test("no PT_LOAD segments")
    func noLoadableSegments() {
        var builder = ELFBuilder.twoSegments()
        for i in builder.programHeaders.indices { builder.programHeaders[i].type = 4 }  // PT_NOTE
        #expect(elfParseError(builder.build()) == .noLoadableSegments)
    }

    @Test("p_filesz greater than p_memsz is rejected")
    func fileSizeExceedsMemorySize() {
        var builder = ELFBuilder.twoSegments()
        builder.programHeaders[1].memorySize = 8  // 16 bytes in the file
        #expect(elfParseError(builder.build()) == .segmentFileSizeExceedsMemorySize(1))
    }

    @Test("overlapping segments are rejected; touching ones and ones sharing a page are not")
    func overlappingSegments() throws {
        var builder = ELFBuilder.twoSegments()
        builder.programHeaders[1].virtualAddress = 0x40_1003  // the code segment's last byte
        #expect(elfParseError(builder.build()) == .segmentsOverlap(0, 1))

        builder.programHeaders[1].virtualAddress = 0x40_1004  // right after it, in the same page
        let image = try ELFImage(bytes: builder.build())
        #expect(image.segments[1].virtualAddress == 0x40_1004)

        // Containment, and the indices count every program header (here a PT_NOTE comes first) in ascending order.
        var nested = ELFBuilder.twoSegments()
        nested.programHeaders[1].virtualAddress = 0x40_0000
        nested.programHeaders[1].memorySize = 0x10_0000
        nested.programHeaders.insert(.init(type: 4, flags: 4, virtualAddress: 0, data: [1], memorySize: 1), at: 0)
        #expect(elfParseError(nested.build()) == .segmentsOverlap(1, 2))

        // An overlap that only a segment far earlier in address order reveals.
        var far = ELFBuilder()
        far.entry = 0x1000
        far.programHeaders = [
            .init(flags: 5, virtualAddress: 0x1000, data: [0x90], memorySize: 0x10000),
            .init(flags: 6, virtualAddress: 0x2000, data: [], memorySize: 0x10),
            .init(flags: 6, virtualAddress: 0x3000, data: [], memorySize: 0x10),
        ]
        #expect(elfParseError(far.build()) == .segmentsOverlap(0, 1))

        // Empty segments occupy no addresses.
        var empty = ELFBuilder.twoSegments()
        empty.programHeaders.append(.init(flags: 4, virtualAddress: 0x40_1000, data: [], memorySize: 0))
        #expect(try ELFImage(bytes: empty.build()).segments.count == 3)
    }

    @Test("an entry point outside every segment is rejected", arguments: [UInt64(0), 0x40_0FFF, 0x40_1004, 0x40_3000])
    func entryOutsideSegments(entry: UInt64) {
        var builder = ELFBuilder.twoSegments()
        builder.entry = entry
        #expect(elfParseError(builder.build()) == .entryOutsideSegments(entry))
    }

    @Test("an entry point in a segment without PF_X is rejected")
    func entryInDataSegment() throws {
        var builder = ELFBuilder.twoSegments()
        builder.entry = 0x40_2000
        #expect(elfParseError(builder.build()) == .entryNotExecutable(entry: 0x40_2000, programHeader: 1))
        builder.entry = 0x40_1003  // the code segment's last byte is fine
        #expect(try ELFImage(bytes: builder.build()).entry == 0x40_1003)
    }

    @Test("segments must end at or below 0x0000_8000_0000_0000 and must not wrap")
    func nonCanonicalAddresses() throws {
        var builder = ELFBuilder.twoSegments()
        builder.programHeaders[1].virtualAddress = 0xFFFF_FFFF_8000_0000  // a kernel-half address
        #expect(elfParseError(builder.build()) == .segmentAddressOverflow(1))

        builder.programHeaders[1].virtualAddress = 0x0000_8000_0000_0000 - 0x20  // straddles the limit
        #expect(elfParseError(builder.build()) == .segmentAddressOverflow(1))

        builder.programHeaders[1].virtualAddress = 0xFFFF_FFFF_FFFF_FFF0  // wraps
        #expect(elfParseError(builder.build()) == .segmentAddressOverflow(1))

        builder.programHeaders[1].virtualAddress = 0x0000_8000_0000_0000 - 0x40  // ends exactly at the limit
        #expect(try ELFImage(bytes: builder.build()).segments[1].addressRange.upperBound == 0x0000_8000_0000_0000)
    }

    @Test("a missing file is cannotRead with strerror's text")
    func missingFile() {
        let path = "/nonexistent-kvmharness-dir/guest.elf"
        #expect(throws: ELFError.cannotRead(path: path, reason: "No such file or directory")) {
            try ELFImage(contentsOf: path)
        }
        #expect(throws: ELFError.self) { try ELFImage(contentsOf: "/") }  // a directory: EISDIR
    }

    @Test("every description is one non-empty line")
    func descriptionsAreOneLine() {
        let errors: [ELFError] = [
            .cannotRead(path: "/tmp/a\nb", reason: "No such file or directory"), .notELF,
            .truncated(what: "the ELF header"), .wrongClass, .wrongEndianness, .wrongMachine(183), .wrongMachine(9999),
            .notExecutable(type: 3), .notExecutable(type: 1), .notExecutable(type: 0xFE00),
            .badProgramHeaderEntrySize(3), .dynamicallyLinked, .noLoadableSegments,
            .segmentFileSizeExceedsMemorySize(2), .segmentsOverlap(0, 1), .segmentAddressOverflow(1),
            .entryOutsideSegments(0x1234), .entryNotExecutable(entry: 0x40_2000, programHeader: 1),
        ]
        for error in errors {
            let text = error.description
            #expect(!text.isEmpty)
            #expect(!text.contains { $0.isNewline }, "\(text)")
        }
        #expect(
            ELFError.notELF.description
                == "not an ELF file (bad magic): a guest image must be a static ELF64 x86-64 executable")
        #expect(ELFError.entryOutsideSegments(0x1234).description.contains("0x1234"))
    }
}
