/// Guest memory where the harness picks the guest-virtual address (the kernel selftests' `vm_vaddr_alloc`), and
/// mappings with large pages (`virt_map` with 2 MiB and 1 GiB pages).
extension VirtualMachine {
    /// Where `allocate(size:)` starts looking: 16 TiB, above where Linux puts a process's code and below its
    /// mmap area, so the harness's choices do not collide with the host code it loads at host addresses.
    public static let allocationBase: UInt64 = 0x1000_0000_0000

    /// Allocates `size` bytes of guest RAM (whole pages, zeroed) and maps them at a guest-virtual address the
    /// harness picks: the lowest unmapped range at or above `allocationBase`.
    ///
    /// - Returns: the guest-virtual and guest-physical addresses of the first page.
    @discardableResult
    public func allocate(size: UInt64, writable: Bool = true, executable: Bool = false) throws(KVMError)
        -> (gva: UInt64, gpa: UInt64)
    {
        let pages = size.roundedUp(to: 4096)
        guard let gva = pageTables.unusedRange(size: pages, from: Self.allocationBase, alignment: 4096, memory: memslots)
        else { throw .invalidArgument("no unmapped guest-virtual range of \(pages) bytes is left") }
        let gpa = try allocate(gva: gva, size: pages, writable: writable, executable: executable)
        return (gva, gpa)
    }

    #if arch(x86_64)
    /// Maps `size` bytes at `gva` to the guest-physical range at `gpa` with pages of `pageSize`; `gva`, `gpa` and
    /// `size` are multiples of it. Large pages need guest-physical memory KVM can back with them for speed, but
    /// any slot works.
    ///
    /// - Throws: `.guestAddressInUse`, `.invalidArgument` for unaligned values, `.vcpuRunning`.
    public func map(gva: UInt64, gpa: UInt64, size: UInt64, pageSize: GuestPageSize, writable: Bool = true,
                    executable: Bool = false) throws(KVMError)
    {
        try requireNoVCPURunning("map guest memory")
        let step = pageSize.rawValue
        guard size % step == 0, gva % step == 0, gpa % step == 0 else {
            throw .invalidArgument("mapping \(size) bytes at \(hex(gva)) to \(hex(gpa)) with \(step >> 10) KiB pages: "
                + "all three must be multiples of the page size")
        }
        var flags: PageTableFlags = writable ? [.writable] : []
        if !executable { flags.insert(.noExecute) }
        var offset: UInt64 = 0
        while offset < size {
            try pageTables.map(
                gva: gva + offset, gpa: gpa + offset, pageSize: pageSize, flags: flags, memory: memslots,
                allocator: &allocator)
            offset += step
        }
        try registerAllocatedRAM()
    }

    /// The guest-virtual addresses that map to guest-physical `gpa` under the harness's page tables: the reverse of
    /// `translate(_:)` (the kernel's `addr_gpa2gva`). Walks every mapping, so use it for diagnostics.
    public func guestVirtualAddresses(of gpa: UInt64) -> [UInt64] {
        var found: [UInt64] = []
        let memory = memslots
        func walk(_ table: UInt64, level: Int, base: UInt64) {
            let mask = PageTables.addressMask(physicalAddressBits: physicalAddressBits)
            for index in 0..<UInt64(512) {
                guard let entry = memory.readU64(gpa: table + index * 8), entry & 1 != 0 else { continue }
                var gva = base | (index << UInt64(12 + 9 * (level - 1)))
                if level == 4 && index >= 256 { gva |= 0xffff_0000_0000_0000 }  // the upper canonical half
                let span: UInt64 = 1 << UInt64(12 + 9 * (level - 1))
                if level == 1 || (level <= 3 && entry & PageTableFlags.largePage.rawValue != 0) {
                    let page = entry & mask & ~(span - 1)
                    if gpa >= page && gpa - page < span { found.append(gva + (gpa - page)) }
                } else {
                    walk(entry & mask, level: level - 1, base: gva)
                }
            }
        }
        walk(pageTables.root, level: 4, base: 0)
        return found
    }
    #endif
}
