import Glibc

// A parser and validator for guest images: stand-alone, static ELF64 little-endian x86-64 executables.
//
// Only the program headers matter for loading, so only they can reject an image. The section headers are read for
// one thing, the symbol table, and any problem with them (or with the symbols) just means "no symbols".
//
// Every read is bounds-checked and every size computation is overflow-checked: a malformed or malicious file makes
// the parser throw an ELFError (or find no symbols), never trap.

/// A guest image: a static ELF64 little-endian x86-64 executable (`ET_EXEC`), parsed and checked.
///
/// The image ABI: each `PT_LOAD` segment is placed at guest-virtual address `p_vaddr`, its `p_filesz` bytes from the
/// file followed by zeros up to `p_memsz`. Segments never overlap, sit below `0x0000_8000_0000_0000` (the lower
/// canonical half), and the entry point lies inside an executable segment. The image may define the 8-byte object
/// `ucall_exit_mmio_addr`, found with `symbol(named:)`.
public struct ELFImage: Sendable {
    /// The entry point (`e_entry`): a guest-virtual address inside an executable segment.
    public let entry: UInt64

    /// The `PT_LOAD` segments, in program header order. Their address ranges do not overlap.
    public let segments: [Segment]

    /// Defined symbols by name, from `SHT_SYMTAB` (or `SHT_DYNSYM` when there is no symbol table); empty when stripped.
    let symbolsByName: [String: Symbol]

    /// The defined symbol called `name`, or nil if the image has no such symbol or no symbol table (it is stripped).
    ///
    /// Undefined symbols are not returned. When a name is defined more than once, a global or weak definition wins
    /// over a local one, then the first in table order.
    public func symbol(named name: String) -> Symbol? {
        symbolsByName[name]
    }

    /// Parses and validates a guest image held in memory.
    ///
    /// Throws when the program headers make the image unloadable; a missing or malformed symbol table is not an
    /// error (`symbol(named:)` then returns nil).
    public init(bytes: [UInt8]) throws(ELFError) {
        let file = ELFByteReader(bytes)
        let header = try ELFFileHeader(file)
        let programHeaders = try ELFProgramHeader.readAll(file, header)

        var segments: [Segment] = []
        var loadIndices: [Int] = []  // program header index of each segment, for error messages
        for (index, ph) in programHeaders.enumerated() {
            if ph.type == ELFConstants.PT_INTERP { throw .dynamicallyLinked }
            guard ph.type == ELFConstants.PT_LOAD else { continue }
            guard ph.fileSize <= ph.memorySize else { throw .segmentFileSizeExceedsMemorySize(index) }
            let (end, wrapped) = ph.virtualAddress.addingReportingOverflow(ph.memorySize)
            guard !wrapped, end <= ELFConstants.userAddressLimit else { throw .segmentAddressOverflow(index) }
            guard let range = file.range(offset: ph.offset, count: ph.fileSize) else {
                throw .truncated(
                    what: "the file bytes of program header \(index) (PT_LOAD, p_offset \(hex(ph.offset)), "
                        + "p_filesz \(ph.fileSize)) in a \(bytes.count)-byte file")
            }
            segments.append(
                Segment(
                    virtualAddress: ph.virtualAddress, memorySize: ph.memorySize, fileOffset: ph.offset,
                    fileSize: ph.fileSize, flags: Segment.Flags(programHeaderFlags: ph.flags),
                    data: Array(bytes[range])))
            loadIndices.append(index)
        }
        guard !segments.isEmpty else { throw .noLoadableSegments }

        // Overlap check in O(n log n): sort the non-empty ranges by start; each must begin at or after the furthest
        // end seen so far. Empty segments occupy no addresses and cannot overlap anything.
        let order = segments.indices.filter { segments[$0].memorySize > 0 }
            .sorted { (segments[$0].virtualAddress, $0) < (segments[$1].virtualAddress, $1) }
        var furthestEnd: UInt64 = 0
        var furthestSegment: Int? = nil
        for i in order {
            let segment = segments[i]
            if let furthestSegment, segment.virtualAddress < furthestEnd {
                let (a, b) = (loadIndices[furthestSegment], loadIndices[i])
                throw .segmentsOverlap(min(a, b), max(a, b))
            }
            let end = segment.virtualAddress + segment.memorySize  // checked above: cannot wrap
            if furthestSegment == nil || end > furthestEnd { (furthestEnd, furthestSegment) = (end, i) }
        }

        // The entry point must be inside a segment, and that segment must be executable.
        let entry = header.entry
        if !segments.contains(where: { $0.contains(entry) && $0.flags.contains(.executable) }) {
            if let i = segments.firstIndex(where: { $0.contains(entry) }) {
                throw .entryNotExecutable(entry: entry, programHeader: loadIndices[i])
            }
            throw .entryOutsideSegments(entry)
        }

        self.entry = header.entry
        self.segments = segments
        self.symbolsByName = ELFSymbolTableReader.read(file, header)
    }

    /// Reads the file at `path` and parses it as a guest image, as `init(bytes:)` does.
    ///
    /// Throws `ELFError.cannotRead` with strerror(3)'s text when the file cannot be opened or read.
    public init(contentsOf path: String) throws(ELFError) {
        try self.init(bytes: try readELFFile(atPath: path))
    }
}

extension ELFImage {
    /// One `PT_LOAD` segment of a guest image: where it goes in guest-virtual memory, its bytes, and its permissions.
    public struct Segment: Sendable, Equatable {
        /// The guest-virtual address of the segment's first byte (`p_vaddr`).
        public let virtualAddress: UInt64
        /// The segment's size in guest memory (`p_memsz`); bytes past `fileSize` are zero.
        public let memorySize: UInt64
        /// Where the segment's bytes start in the file (`p_offset`).
        public let fileOffset: UInt64
        /// How many bytes the file holds for the segment (`p_filesz`); never more than `memorySize`.
        public let fileSize: UInt64
        /// The segment's permissions (`p_flags`).
        public let flags: Flags
        /// The segment's `fileSize` bytes from the file; the loader copies them to `virtualAddress` and zeroes
        /// the rest.
        public let data: [UInt8]

        /// The guest-virtual addresses the segment occupies: `virtualAddress ..< virtualAddress + memorySize`.
        public var addressRange: Range<UInt64> { virtualAddress..<(virtualAddress + memorySize) }

        /// Whether the guest-virtual address `address` is inside the segment.
        public func contains(_ address: UInt64) -> Bool {
            address >= virtualAddress && address - virtualAddress < memorySize
        }

        /// A segment's permissions, from the `PF_R`, `PF_W` and `PF_X` bits of `p_flags` (other bits are dropped).
        public struct Flags: OptionSet, Sendable, Hashable {
            /// The `p_flags` bits: `PF_X` = 1, `PF_W` = 2, `PF_R` = 4.
            public let rawValue: UInt32

            /// Flags with these `p_flags` bits.
            public init(rawValue: UInt32) { self.rawValue = rawValue }

            /// `PF_X`: the guest may execute the segment.
            public static let executable = Flags(rawValue: 1)
            /// `PF_W`: the guest may write the segment.
            public static let writable = Flags(rawValue: 2)
            /// `PF_R`: the guest may read the segment.
            public static let readable = Flags(rawValue: 4)

            /// Keeps only the permission bits of a program header's `p_flags`.
            init(programHeaderFlags: UInt32) { self.init(rawValue: programHeaderFlags & 0x7) }
        }
    }

    /// A defined symbol from a guest image's symbol table.
    public struct Symbol: Sendable, Equatable {
        /// The symbol's name.
        public let name: String
        /// Its value (`st_value`): in an executable, the guest-virtual address of the object or function.
        public let value: UInt64
        /// Its size in bytes (`st_size`); 0 when unknown.
        public let size: UInt64
    }
}

/// Why a file is not a loadable guest image. `description` is one line: what is wrong and what to do.
public enum ELFError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be opened or read; `reason` is strerror(3)'s text.
    case cannotRead(path: String, reason: String)
    /// The file does not start with the ELF magic `\x7fELF`.
    case notELF
    /// The file ends before something it declares does; `what` says which part and where.
    case truncated(what: String)
    /// The file is not ELFCLASS64 (it is a 32-bit ELF file, or its class byte is invalid).
    case wrongClass
    /// The file is not ELFDATA2LSB (little-endian).
    case wrongEndianness
    /// `e_machine` is not EM_X86_64 (62).
    case wrongMachine(UInt16)
    /// `e_type` is not ET_EXEC (2): relocatable objects, shared objects and PIEs (ET_DYN) are rejected.
    case notExecutable(type: UInt16)
    /// `e_phentsize` is smaller than an ELF64 program header (56 bytes).
    case badProgramHeaderEntrySize(UInt16)
    /// The file has a `PT_INTERP` program header: it is dynamically linked.
    case dynamicallyLinked
    /// The file has no `PT_LOAD` program headers.
    case noLoadableSegments
    /// The `PT_LOAD` program header at this index has `p_filesz` greater than `p_memsz`.
    case segmentFileSizeExceedsMemorySize(Int)
    /// The `PT_LOAD` program headers at these indices (lower first) have overlapping `[p_vaddr, p_vaddr + p_memsz)`.
    case segmentsOverlap(Int, Int)
    /// The `PT_LOAD` program header at this index wraps around or ends above `0x0000_8000_0000_0000`.
    case segmentAddressOverflow(Int)
    /// The entry point is not inside any `PT_LOAD` segment.
    case entryOutsideSegments(UInt64)
    /// The entry point is inside the `PT_LOAD` segment at this program header index, which lacks `PF_X`.
    case entryNotExecutable(entry: UInt64, programHeader: Int)

    /// One line: what is wrong with the file, then what to do about it.
    public var description: String {
        let imageABI = "a guest image must be a static ELF64 x86-64 executable"
        let fixedAddress = "link it with -static -no-pie, as a fixed-address ET_EXEC"
        let corrupt = "the file is corrupt; rebuild the guest image"
        let text: String
        switch self {
        case .cannotRead(let path, let reason):
            text = "cannot read guest image \(path): \(reason); check the path and its permissions"
        case .notELF:
            text = "not an ELF file (bad magic): \(imageABI)"
        case .truncated(let what):
            text = "truncated ELF file: \(what) extends past the end of the file; \(corrupt)"
        case .wrongClass:
            text = "not a 64-bit ELF file (EI_CLASS is not ELFCLASS64): \(imageABI); build it for x86_64"
        case .wrongEndianness:
            text = "big-endian or invalid EI_DATA (not ELFDATA2LSB): \(imageABI), which is little-endian"
        case .wrongMachine(let machine):
            text =
                "ELF machine \(machine)\(Self.machineName(machine)) is not x86-64 (EM_X86_64, 62): "
                + "\(imageABI); build it for x86_64"
        case .notExecutable(let type):
            text = "ELF type \(type)\(Self.typeName(type)) is not an executable (ET_EXEC): \(fixedAddress)"
        case .badProgramHeaderEntrySize(let size):
            text = "e_phentsize is \(size), smaller than a 56-byte ELF64 program header: \(corrupt)"
        case .dynamicallyLinked:
            text = "the ELF file is dynamically linked (it has PT_INTERP): \(fixedAddress)"
        case .noLoadableSegments:
            text =
                "the ELF file has no PT_LOAD segments, so nothing to load: check the guest image's link step "
                + "(linker script, -nostdlib, -e)"
        case .segmentFileSizeExceedsMemorySize(let index):
            text = "program header \(index) (PT_LOAD) has p_filesz greater than p_memsz: \(corrupt)"
        case .segmentsOverlap(let first, let second):
            text =
                "program headers \(first) and \(second) (PT_LOAD) overlap in guest-virtual memory: "
                + "fix the guest image's linker script so that no two segments share an address"
        case .segmentAddressOverflow(let index):
            text =
                "program header \(index) (PT_LOAD) wraps around or ends above 0x800000000000, outside the lower "
                + "canonical half: link the guest image at a lower address"
        case .entryOutsideSegments(let entry):
            text =
                "entry point \(hex(entry)) is outside every PT_LOAD segment: link the guest image with "
                + "-e (or ENTRY()) naming a function in its code"
        case .entryNotExecutable(let entry, let index):
            text =
                "entry point \(hex(entry)) is in program header \(index) (PT_LOAD), which is not executable "
                + "(no PF_X): link the guest image with -e (or ENTRY()) naming a function in its code"
        }
        // One line, whatever a path or a reason holds.
        return String(text.map { $0.isNewline ? " " : $0 })
    }

    /// " (EM_...)" for well-known `e_machine` values, "" otherwise.
    private static func machineName(_ machine: UInt16) -> String {
        switch machine {
        case 3: return " (EM_386, 32-bit x86)"
        case 8: return " (EM_MIPS)"
        case 20: return " (EM_PPC)"
        case 21: return " (EM_PPC64)"
        case 22: return " (EM_S390)"
        case 40: return " (EM_ARM, 32-bit Arm)"
        case 183: return " (EM_AARCH64)"
        case 243: return " (EM_RISCV)"
        case 258: return " (EM_LOONGARCH)"
        default: return ""
        }
    }

    /// " (ET_...)" for known `e_type` values, "" otherwise.
    private static func typeName(_ type: UInt16) -> String {
        switch type {
        case 0: return " (ET_NONE)"
        case 1: return " (ET_REL, a relocatable object)"
        case 2: return " (ET_EXEC)"
        case 3: return " (ET_DYN, a shared object or position-independent executable)"
        case 4: return " (ET_CORE, a core dump)"
        default: return ""
        }
    }
}

// MARK: - Implementation

/// Constants from the ELF specification and the x86-64 psABI.
private enum ELFConstants {
    static let magic: [UInt8] = [0x7F, 0x45, 0x4C, 0x46]  // "\x7fELF"
    static let ELFCLASS64: UInt8 = 2
    static let ELFDATA2LSB: UInt8 = 1
    static let ET_EXEC: UInt16 = 2
    static let EM_X86_64: UInt16 = 62
    static let headerSize = 64
    static let programHeaderSize = 56
    static let sectionHeaderSize = 64
    static let symbolSize = 24
    static let PN_XNUM: UInt16 = 0xFFFF
    static let PT_LOAD: UInt32 = 1
    static let PT_INTERP: UInt32 = 3
    static let SHT_SYMTAB: UInt32 = 2
    static let SHT_STRTAB: UInt32 = 3
    static let SHT_DYNSYM: UInt32 = 11
    static let SHN_UNDEF: UInt16 = 0
    static let SHN_COMMON: UInt16 = 0xFFF2
    static let STB_LOCAL: UInt8 = 0
    static let STT_SECTION: UInt8 = 3
    static let STT_FILE: UInt8 = 4
    /// The first address above the lower canonical half with 48-bit virtual addresses.
    static let userAddressLimit: UInt64 = 0x0000_8000_0000_0000
}

/// Bounds-checked little-endian reads from the file's bytes. Every accessor returns nil rather than trap.
private struct ELFByteReader {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var count: Int { bytes.count }

    /// The byte range `[offset, offset + count)` if it lies inside the file.
    func range(offset: UInt64, count: UInt64) -> Range<Int>? {
        let (end, overflow) = offset.addingReportingOverflow(count)
        guard !overflow, end <= UInt64(bytes.count) else { return nil }
        return Int(offset)..<Int(end)  // both <= bytes.count, so they fit in Int
    }

    /// `width` bytes at `offset` as a little-endian integer, or nil when they are not all inside the file.
    private func little<T: FixedWidthInteger & UnsignedInteger>(_ offset: Int, _: T.Type) -> T? {
        let width = MemoryLayout<T>.size
        guard offset >= 0, offset <= bytes.count - width else { return nil }
        var value: T = 0
        for i in 0..<width {
            value |= T(bytes[offset + i]) << (8 * i)
        }
        return value
    }

    func u8(_ offset: Int) -> UInt8? { little(offset, UInt8.self) }
    func u16(_ offset: Int) -> UInt16? { little(offset, UInt16.self) }
    func u32(_ offset: Int) -> UInt32? { little(offset, UInt32.self) }
    func u64(_ offset: Int) -> UInt64? { little(offset, UInt64.self) }

    /// The offset of entry `index` of a table of `entrySize`-byte entries at `tableOffset`, if the whole entry
    /// (`minimumSize` bytes of it) is inside the file.
    func entryOffset(table tableOffset: UInt64, entrySize: UInt64, index: UInt64, minimumSize: Int) -> Int? {
        let (scaled, o1) = index.multipliedReportingOverflow(by: entrySize)
        let (start, o2) = tableOffset.addingReportingOverflow(scaled)
        guard !o1, !o2, range(offset: start, count: UInt64(minimumSize)) != nil else { return nil }
        return Int(start)
    }
}

/// The fields of the ELF header the loader uses.
private struct ELFFileHeader {
    let entry: UInt64
    let programHeaderOffset: UInt64
    let programHeaderEntrySize: UInt16
    let programHeaderCount: UInt16  // may be PN_XNUM
    let sectionHeaderOffset: UInt64
    let sectionHeaderEntrySize: UInt16
    let sectionHeaderCount: UInt16  // 0 with a non-zero offset means "in section header 0"

    init(_ file: ELFByteReader) throws(ELFError) {
        // Magic first: a short file that is not a prefix of "\x7fELF" is "not ELF", not "truncated".
        for i in 0..<min(4, file.count) where file.bytes[i] != ELFConstants.magic[i] {
            throw .notELF
        }
        guard file.count >= ELFConstants.headerSize else {
            throw .truncated(what: "the \(ELFConstants.headerSize)-byte ELF header (the file has \(file.count) bytes)")
        }
        guard file.bytes[4] == ELFConstants.ELFCLASS64 else { throw .wrongClass }
        guard file.bytes[5] == ELFConstants.ELFDATA2LSB else { throw .wrongEndianness }
        // Every field is inside the 64 bytes checked above, so the else branch cannot run.
        guard let type = file.u16(16), let machine = file.u16(18), let entry = file.u64(24),
            let programHeaderOffset = file.u64(32), let sectionHeaderOffset = file.u64(40),
            let programHeaderEntrySize = file.u16(54), let programHeaderCount = file.u16(56),
            let sectionHeaderEntrySize = file.u16(58), let sectionHeaderCount = file.u16(60)
        else { throw .truncated(what: "the ELF header") }
        guard machine == ELFConstants.EM_X86_64 else { throw .wrongMachine(machine) }
        guard type == ELFConstants.ET_EXEC else { throw .notExecutable(type: type) }
        self.entry = entry
        self.programHeaderOffset = programHeaderOffset
        self.sectionHeaderOffset = sectionHeaderOffset
        self.programHeaderEntrySize = programHeaderEntrySize
        self.programHeaderCount = programHeaderCount
        self.sectionHeaderEntrySize = sectionHeaderEntrySize
        self.sectionHeaderCount = sectionHeaderCount
    }

    /// The byte offset of section header 0, if the file has a readable one.
    func sectionHeaderZero(_ file: ELFByteReader) -> Int? {
        guard sectionHeaderOffset != 0, Int(sectionHeaderEntrySize) >= ELFConstants.sectionHeaderSize else {
            return nil
        }
        return file.entryOffset(
            table: sectionHeaderOffset, entrySize: UInt64(sectionHeaderEntrySize), index: 0,
            minimumSize: ELFConstants.sectionHeaderSize)
    }
}

/// The fields of a program header the loader uses.
private struct ELFProgramHeader {
    let type: UInt32
    let flags: UInt32
    let offset: UInt64
    let virtualAddress: UInt64
    let fileSize: UInt64
    let memorySize: UInt64

    /// Reads the whole program header table, checking that it is inside the file.
    static func readAll(_ file: ELFByteReader, _ header: ELFFileHeader) throws(ELFError) -> [ELFProgramHeader] {
        var count = UInt64(header.programHeaderCount)
        if header.programHeaderCount == ELFConstants.PN_XNUM {
            // More than 0xfffe program headers: the real count is section header 0's sh_info.
            guard let zero = header.sectionHeaderZero(file), let realCount = file.u32(zero + 44) else {
                throw .truncated(
                    what: "section header 0, which holds the program header count when e_phnum is PN_XNUM,")
            }
            count = UInt64(realCount)
        }
        guard count > 0 else { return [] }
        let entrySize = UInt64(header.programHeaderEntrySize)
        guard entrySize >= UInt64(ELFConstants.programHeaderSize) else {
            throw .badProgramHeaderEntrySize(header.programHeaderEntrySize)
        }
        // The table's last entry need only hold the 56 bytes we read, but require the whole declared table.
        let (tableSize, overflow) = count.multipliedReportingOverflow(by: entrySize)
        guard !overflow, file.range(offset: header.programHeaderOffset, count: tableSize) != nil else {
            throw .truncated(
                what: "the program header table (\(count) entries of \(entrySize) bytes at e_phoff "
                    + "\(hex(header.programHeaderOffset))) in a \(file.count)-byte file")
        }
        var headers: [ELFProgramHeader] = []
        headers.reserveCapacity(Int(count))  // count * entrySize <= file size, so count fits in Int
        for index in 0..<count {
            // The whole table is inside the file (checked above), so the else branch cannot run.
            guard
                let base = file.entryOffset(
                    table: header.programHeaderOffset, entrySize: entrySize, index: index,
                    minimumSize: ELFConstants.programHeaderSize),
                let type = file.u32(base), let flags = file.u32(base + 4), let offset = file.u64(base + 8),
                let virtualAddress = file.u64(base + 16), let fileSize = file.u64(base + 32),
                let memorySize = file.u64(base + 40)
            else { throw .truncated(what: "program header \(index)") }
            headers.append(
                ELFProgramHeader(
                    type: type, flags: flags, offset: offset, virtualAddress: virtualAddress, fileSize: fileSize,
                    memorySize: memorySize))
        }
        return headers
    }
}

/// Reads the symbol table. Any problem yields fewer symbols or none, never an error.
private enum ELFSymbolTableReader {
    /// A section header's fields that matter here.
    struct Section {
        let type: UInt32
        let offset: UInt64
        let size: UInt64
        let link: UInt32
        let entrySize: UInt64
    }

    static func read(_ file: ELFByteReader, _ header: ELFFileHeader) -> [String: ELFImage.Symbol] {
        guard let sections = sections(file, header) else { return [:] }
        let table =
            sections.first { $0.type == ELFConstants.SHT_SYMTAB }
            ?? sections.first { $0.type == ELFConstants.SHT_DYNSYM }
        guard let table, Int(table.link) < sections.count else { return [:] }
        let strings = sections[Int(table.link)]
        guard strings.type == ELFConstants.SHT_STRTAB,
            let stringRange = file.range(offset: strings.offset, count: strings.size)
        else { return [:] }
        let entrySize = table.entrySize == 0 ? UInt64(ELFConstants.symbolSize) : table.entrySize
        guard entrySize >= UInt64(ELFConstants.symbolSize), file.range(offset: table.offset, count: table.size) != nil
        else { return [:] }

        var symbols: [String: ELFImage.Symbol] = [:]
        var isGlobal: [String: Bool] = [:]
        let count = table.size / entrySize
        guard count > 1 else { return [:] }
        for index in 1..<count {  // entry 0 is the null symbol
            guard
                let base = file.entryOffset(
                    table: table.offset, entrySize: entrySize, index: index, minimumSize: ELFConstants.symbolSize),
                let nameOffset = file.u32(base), let info = file.u8(base + 4), let sectionIndex = file.u16(base + 6),
                let value = file.u64(base + 8), let size = file.u64(base + 16)
            else { break }
            let symbolType = info & 0xF
            let binding = info >> 4
            // Skip undefined and common symbols (no address), and section and file symbols (not named objects).
            let hasAddress = sectionIndex != ELFConstants.SHN_UNDEF && sectionIndex != ELFConstants.SHN_COMMON
            let isNamedEntity = symbolType != ELFConstants.STT_SECTION && symbolType != ELFConstants.STT_FILE
            guard hasAddress, isNamedEntity, let name = string(file, in: stringRange, at: nameOffset), !name.isEmpty
            else { continue }
            let global = binding != ELFConstants.STB_LOCAL
            if let seenGlobal = isGlobal[name], seenGlobal || !global { continue }
            symbols[name] = ELFImage.Symbol(name: name, value: value, size: size)
            isGlobal[name] = global
        }
        return symbols
    }

    /// Every section header, or nil when the table is missing or not wholly inside the file.
    static func sections(_ file: ELFByteReader, _ header: ELFFileHeader) -> [Section]? {
        guard let zero = header.sectionHeaderZero(file) else { return nil }
        var count = UInt64(header.sectionHeaderCount)
        if count == 0 {
            // 0xff00 or more sections: the real count is section header 0's sh_size.
            guard let realCount = file.u64(zero + 32) else { return nil }
            count = realCount
        }
        let entrySize = UInt64(header.sectionHeaderEntrySize)
        let (tableSize, overflow) = count.multipliedReportingOverflow(by: entrySize)
        guard !overflow, file.range(offset: header.sectionHeaderOffset, count: tableSize) != nil else { return nil }
        var sections: [Section] = []
        sections.reserveCapacity(Int(count))  // bounded by the file size, checked above
        for index in 0..<count {
            guard
                let base = file.entryOffset(
                    table: header.sectionHeaderOffset, entrySize: entrySize, index: index,
                    minimumSize: ELFConstants.sectionHeaderSize),
                let type = file.u32(base + 4), let offset = file.u64(base + 24), let size = file.u64(base + 32),
                let link = file.u32(base + 40), let entrySize = file.u64(base + 56)
            else { return nil }
            sections.append(Section(type: type, offset: offset, size: size, link: link, entrySize: entrySize))
        }
        return sections
    }

    /// The NUL-terminated string at `offset` in the string table occupying `table`, or nil if it runs off the end.
    static func string(_ file: ELFByteReader, in table: Range<Int>, at offset: UInt32) -> String? {
        guard UInt64(offset) < UInt64(table.count) else { return nil }
        let start = table.lowerBound + Int(offset)
        guard let end = file.bytes[start..<table.upperBound].firstIndex(of: 0) else { return nil }
        return String(decoding: file.bytes[start..<end], as: UTF8.self)
    }
}

/// Reads the whole image file at `path` (at most 1 GiB: no guest image is larger, and a bogus one must not
/// exhaust host memory).
private func readELFFile(atPath path: String) throws(ELFError) -> [UInt8] {
    do {
        return try readFile(atPath: path, limit: 1 << 30)
    } catch {
        guard case .systemCallFailed(_, let errno) = error else { throw .cannotRead(path: path, reason: "\(error)") }
        throw .cannotRead(path: path, reason: errno == .fileTooLarge ? "larger than 1 GiB" : errno.message)
    }
}
