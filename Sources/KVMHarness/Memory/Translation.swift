/// The bits of an x86-64 page-table entry. On arm64 the same set is the permission a mapping asks for
/// (`.writable`, `.user`, `.noExecute`), which `Stage1PageTables` turns into AP and XN bits.
public struct PageTableFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// P: the entry maps something.
    public static let present = PageTableFlags(rawValue: 1 << 0)
    /// R/W: writes are allowed (at CPL0 too, since the harness sets CR0.WP).
    public static let writable = PageTableFlags(rawValue: 1 << 1)
    /// U/S: CPL3 may access it.
    public static let user = PageTableFlags(rawValue: 1 << 2)
    /// A: set by the CPU on access.
    public static let accessed = PageTableFlags(rawValue: 1 << 5)
    /// D: set by the CPU on write (leaf entries).
    public static let dirty = PageTableFlags(rawValue: 1 << 6)
    /// PS: a 1 GiB (PDPTE) or 2 MiB (PDE) page instead of a table.
    public static let largePage = PageTableFlags(rawValue: 1 << 7)
    /// XD: instruction fetches fault (needs EFER.NXE).
    public static let noExecute = PageTableFlags(rawValue: 1 << 63)
}

/// What a guest-virtual address turned out to be, walking the guest's page tables.
public enum Translation: Equatable, Sendable {
    /// Mapped to `gpa`; `writable` is the AND of R/W along the walk, `executable` the NOR of XD, `user` the AND of
    /// U/S (whether CPL3 may access it).
    case mapped(gpa: UInt64, writable: Bool, executable: Bool, user: Bool)
    /// The address is not canonical (bits 63:47 differ), so no walk can map it.
    case nonCanonical
    /// An entry on the walk is not present; `level` 4 is the PML4, 1 the page table. On arm64 `level` is the
    /// lookup level, 0 (the top) to 3, and a descriptor with the access flag clear also ends here (the harness
    /// sets AF in every descriptor and does not enable hardware AF management).
    case notPresent(level: Int)
    /// The guest's page tables are corrupt: the CPU would fault (or has already) where the walk stopped.
    case invalid(PageTableProblem)
}

/// What is wrong with the guest's page tables, at which level of the walk. `description` names the table.
public enum PageTableProblem: Hashable, Sendable, CustomStringConvertible {
    /// The table the walk needs at `level` (4 is the PML4, whose address is CR3) lies outside every memslot.
    case tableOutsideMemory(level: Int, tableGPA: UInt64)
    /// The entry at `level` sets `bits`, which the architecture reserves: address bits at or above MAXPHYADDR, PS
    /// in a PML4E, or the must-be-zero bits of a 1 GiB or 2 MiB page. The CPU raises #PF with RSVD set.
    case reservedBits(level: Int, entry: UInt64, bits: UInt64)

    /// The table at a walk level: on x86-64 "PML4" (4), "PDPT" (3), "page directory" (2), "page table" (1); on
    /// arm64 the lookup level's table ("level 0 table" to "level 3 table").
    public static func tableName(level: Int) -> String {
        #if arch(arm64)
        return "level \(level) table"
        #else
        switch level {
        case 4: return "PML4"
        case 3: return "PDPT"
        case 2: return "page directory"
        default: return "page table"
        }
        #endif
    }

    public var description: String {
        switch self {
        case .tableOutsideMemory(let level, let gpa):
            return "the \(Self.tableName(level: level)) (level \(level)) at guest-physical \(hex(gpa)) is outside "
                + "guest memory"
        case .reservedBits(let level, let entry, let bits):
            return "the \(Self.tableName(level: level)) entry (level \(level)) \(hex(entry)) sets reserved bits "
                + "\(hex(bits))"
        }
    }
}
