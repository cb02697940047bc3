/// Guest-virtual memory as the guest sees it at one moment: reads and writes go through a walk of the page tables
/// rooted at `cr3`, page by page, so a range that straddles a page boundary onto a non-contiguous physical page reads
/// right. Each access is checked as the guest's own would be: a user-mode view (`userAccess`, a ucall made at CPL3)
/// reaches only pages with U/S set all along the walk, and a write only pages with R/W set all along it.
package struct GuestVirtualMemory<Memory: PhysicalMemory> {
    /// Guest-physical memory.
    package let memory: Memory
    /// The root of the page tables at the time of the exit: CR3 on x86-64, TTBR0_EL1 on arm64.
    package let cr3: UInt64
    /// The guest's MAXPHYADDR.
    package let physicalAddressBits: Int
    /// Whether accesses are the guest's user mode's (CPL3 at the exit): supervisor-only pages are refused.
    package let userAccess: Bool

    /// A view of `memory` through the page tables at `cr3`, for supervisor accesses or, with `userAccess`, CPL3 ones.
    package init(memory: Memory, cr3: UInt64, physicalAddressBits: Int, userAccess: Bool = false) {
        self.memory = memory
        self.cr3 = cr3
        self.physicalAddressBits = physicalAddressBits
        self.userAccess = userAccess
    }

    /// Why a read failed.
    package enum Failure: Error, Equatable, Sendable {
        /// `gva` is not mapped (or not canonical).
        case unmapped(gva: UInt64)
        /// `gva` maps to `gpa`, which no memslot backs (no writable one, for a write).
        case outsideMemory(gva: UInt64, gpa: UInt64)
        /// The walk for `gva` met a corrupt table: one outside memory, or an entry with reserved bits set.
        case invalidPageTables(gva: UInt64, PageTableProblem)
        /// A user-mode access to `gva`, whose page is supervisor-only (U/S clear somewhere on the walk).
        case supervisorOnly(gva: UInt64)
        /// A write to `gva`, whose page is read-only (R/W clear somewhere on the walk).
        case readOnly(gva: UInt64)
    }

    /// Translates one address for a read, or for a write with `write`, checking the permissions the walk grants.
    @inline(__always)
    package func translate(_ gva: UInt64, write: Bool = false) -> Result<UInt64, Failure> {
        #if arch(arm64)
        let translation = Stage1PageTables.translate(
            gva, ttbr: cr3, physicalAddressBits: physicalAddressBits, memory: memory)
        #else
        let translation = PageTables.translate(gva, cr3: cr3, physicalAddressBits: physicalAddressBits, memory: memory)
        #endif
        switch translation {
        case .mapped(let gpa, let writable, _, let user):
            if userAccess && !user { return .failure(.supervisorOnly(gva: gva)) }
            if write && !writable { return .failure(.readOnly(gva: gva)) }
            return .success(gpa)
        case .nonCanonical, .notPresent: return .failure(.unmapped(gva: gva))
        case .invalid(let problem): return .failure(.invalidPageTables(gva: gva, problem))
        }
    }

    /// Copies `count` bytes at `gva` into `destination`, translating each page separately.
    @inline(__always)
    package func read(gva: UInt64, into destination: UnsafeMutableRawPointer, count: Int) -> Failure? {
        var done = 0
        while done < count {
            let address = gva &+ UInt64(done)
            let chunk = min(count - done, 4096 - Int(address & 0xfff))
            let gpa: UInt64
            switch translate(address) {
            case .success(let value): gpa = value
            case .failure(let failure): return failure
            }
            guard memory.read(gpa: gpa, into: destination + done, count: chunk) else {
                return .outsideMemory(gva: address, gpa: gpa)
            }
            done += chunk
        }
        return nil
    }

    /// Copies `count` bytes from `source` to `gva`, translating each page separately for a write. Every page is
    /// translated and checked before the first byte is written; a memslot that refuses the write part-way (one that
    /// is read-only for the guest too) leaves the pages before it written.
    package func write(gva: UInt64, from source: UnsafeRawPointer, count: Int) -> Failure? {
        var done = 0
        while done < count {
            let address = gva &+ UInt64(done)
            if case .failure(let failure) = translate(address, write: true) { return failure }
            done += min(count - done, 4096 - Int(address & 0xfff))
        }
        done = 0
        while done < count {
            let address = gva &+ UInt64(done)
            let chunk = min(count - done, 4096 - Int(address & 0xfff))
            let gpa: UInt64
            switch translate(address, write: true) {
            case .success(let value): gpa = value
            case .failure(let failure): return failure
            }
            guard memory.write(gpa: gpa, from: source + done, count: chunk) else {
                return .outsideMemory(gva: address, gpa: gpa)
            }
            done += chunk
        }
        return nil
    }

    /// Reads a NUL-terminated string of at most `maximumLength` bytes at `gva`. Returns nil if not even the first
    /// byte can be read; otherwise the bytes up to the NUL, the limit, or the first unreadable page. Invalid UTF-8
    /// becomes U+FFFD.
    package func readCString(gva: UInt64, maximumLength: Int) -> String? {
        var bytes: [UInt8] = []
        var address = gva
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < maximumLength {
            let length = min(maximumLength - bytes.count, 4096 - Int(address & 0xfff))
            // SAFETY: `length` is at most 4096, the size of `chunk`.
            let failed = chunk.withUnsafeMutableBytes { read(gva: address, into: $0.baseAddress!, count: length) }
            if failed != nil { return bytes.isEmpty && address == gva ? nil : String(decoding: bytes, as: UTF8.self) }
            if let nul = chunk[..<length].firstIndex(of: 0) {
                bytes += chunk[..<nul]
                return String(decoding: bytes, as: UTF8.self)
            }
            bytes += chunk[..<length]
            address &+= UInt64(length)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
