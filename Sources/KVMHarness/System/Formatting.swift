// The few text helpers every message, report and table in the package shares: one spelling of a hex number, one
// way to pad a column.

/// `0x` followed by the value in hex, lower case unless `uppercase`.
@inline(__always)
package func hex<T: BinaryInteger>(_ value: T, uppercase: Bool = false) -> String {
    "0x" + String(value, radix: 16, uppercase: uppercase)
}

/// Bytes as two-digit lower-case hex separated by spaces: "0f 0b".
package func hexBytes(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { ($0 < 0x10 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
}

extension String {
    /// The string padded with spaces to `width` characters (on the right, or on the left when `leading`);
    /// unchanged if it is already that wide.
    package func padded(to width: Int, leading: Bool = false) -> String {
        guard count < width else { return self }
        let padding = String(repeating: " ", count: width - count)
        return leading ? padding + self : self + padding
    }
}

/// A byte count in the largest binary unit that keeps it readable: "64 MiB", "1.5 KiB", "300 bytes".
package struct ByteCount: CustomStringConvertible {
    /// The count.
    package let bytes: UInt64
    /// A count of `bytes`.
    package init(_ bytes: UInt64) { self.bytes = bytes }

    package var description: String {
        let units: [(String, UInt64)] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        for (name, size) in units where bytes >= size {
            let tenths = bytes * 10 / size  // bytes < 2^64 / 10 for any image that fits in a 64-bit address space
            return tenths % 10 == 0 ? "\(tenths / 10) \(name)" : "\(tenths / 10).\(tenths % 10) \(name)"
        }
        return "\(bytes) bytes"
    }
}
