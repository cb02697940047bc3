/// Guest-physical memory as the host sees it: bounds-checked reads and writes by guest-physical address.
///
/// The page-table walk, the page-table builder and the ucall decoder see memory only through this protocol, so they
/// are tested on plain buffers, and a hostile guest can never make the host touch anything outside guest memory.
package protocol PhysicalMemory {
    /// Copies `count` bytes at `gpa` into `destination`. Returns false, copying nothing, unless the whole range is
    /// backed by guest memory.
    func read(gpa: UInt64, into destination: UnsafeMutableRawPointer, count: Int) -> Bool
    /// Copies `count` bytes from `source` to `gpa`. Returns false, writing nothing, unless the whole range is backed
    /// by writable guest memory.
    func write(gpa: UInt64, from source: UnsafeRawPointer, count: Int) -> Bool
}

extension PhysicalMemory {
    /// Reads a little-endian u64 at `gpa`, or nil if it is not backed.
    @inline(__always)
    package func readU64(gpa: UInt64) -> UInt64? {
        var value: UInt64 = 0
        return read(gpa: gpa, into: &value, count: 8) ? UInt64(littleEndian: value) : nil
    }

    /// Writes a little-endian u64 at `gpa`; false if it is not backed.
    @discardableResult
    package func writeU64(gpa: UInt64, _ value: UInt64) -> Bool {
        var le = value.littleEndian
        return write(gpa: gpa, from: &le, count: 8)
    }
}

/// A flat buffer standing in for guest memory at guest-physical `base`, for tests and for building tables.
package final class BufferMemory: PhysicalMemory {
    /// The guest-physical address of the first byte.
    package let base: UInt64
    /// The bytes.
    package var bytes: [UInt8]

    /// `size` zeroed bytes starting at guest-physical `base`.
    package init(base: UInt64 = 0, size: Int) {
        self.base = base
        bytes = [UInt8](repeating: 0, count: size)
    }

    private func offset(_ gpa: UInt64, _ count: Int) -> Int? {
        guard gpa >= base, count >= 0 else { return nil }
        let start = gpa - base
        guard start <= UInt64(bytes.count), UInt64(count) <= UInt64(bytes.count) - start else { return nil }
        return Int(start)
    }

    package func read(gpa: UInt64, into destination: UnsafeMutableRawPointer, count: Int) -> Bool {
        // SAFETY: offset() checked that [start, start + count) lies inside `bytes`.
        guard let start = offset(gpa, count) else { return false }
        bytes.withUnsafeBytes { destination.copyMemory(from: $0.baseAddress! + start, byteCount: count) }
        return true
    }

    package func write(gpa: UInt64, from source: UnsafeRawPointer, count: Int) -> Bool {
        // SAFETY: offset() checked that [start, start + count) lies inside `bytes`.
        guard let start = offset(gpa, count) else { return false }
        bytes.withUnsafeMutableBytes { ($0.baseAddress! + start).copyMemory(from: source, byteCount: count) }
        return true
    }
}
