// The text of a PRINTF or ABORT ucall, built by string interpolation into a fixed buffer: no String, no heap.
//
// This file uses the standard library only, so the same code is compiled twice: into every Embedded Swift guest
// image (scripts/build-swift-guest.sh) and, as the host target SwiftGuestMessage, into the unit tests that check
// the formatting without a VM.

/// The text of one ucall line: `guestPrint("x = \(x), key = \(hex: key), name \(name)")`.
///
/// Interpolated integers, hex, strings and booleans are written straight into a fixed buffer of the ucall's size, so
/// building a message never allocates. Text past 1,023 bytes is cut, and the last three bytes become "...", as the
/// C runtime's `guest_printf` marks truncation.
public struct GuestMessage: ExpressibleByStringInterpolation, Sendable {
    /// The most bytes a message holds: the ucall buffer (1,024 bytes) less its terminating NUL.
    public static let capacity = 1023

    // 1,024 bytes of tuple storage (InlineArray would need Swift 6.2; the package builds with 6.1).
    private var bytes: Bytes1024 = (
        zero64, zero64, zero64, zero64, zero64, zero64, zero64, zero64,
        zero64, zero64, zero64, zero64, zero64, zero64, zero64, zero64
    )
    private var length = 0
    private var truncated = false

    /// An empty message.
    public init() {}

    /// A message with the literal's text.
    public init(stringLiteral value: StaticString) { append(value) }

    /// A message built by interpolation.
    public init(stringInterpolation: StringInterpolation) { self = stringInterpolation.message }

    /// A message with a String's UTF-8 bytes.
    public init(_ string: String) { append(string) }

    /// Whether the message has no text.
    public var isEmpty: Bool { length == 0 }

    /// Calls `body` with the message's bytes (at most `capacity`; no NUL).
    public func withUTF8<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        var copy = bytes
        let count = length
        let truncated = truncated
        // SAFETY: the tuple is 1,024 contiguous bytes; `count` <= capacity < 1024.
        return withUnsafeMutableBytes(of: &copy) { buffer in
            if truncated {
                for index in Self.capacity - 3..<Self.capacity { buffer[index] = UInt8(ascii: ".") }
            }
            return body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    /// Appends one byte, or marks the message truncated when it is full.
    @inline(__always)
    mutating func append(byte: UInt8) {
        guard length < Self.capacity else {
            truncated = true
            return
        }
        let index = length
        // SAFETY: the tuple is 1,024 contiguous bytes and `index` < capacity < 1024.
        withUnsafeMutableBytes(of: &bytes) { $0[index] = byte }
        length += 1
    }

    /// Appends a static string's UTF-8 bytes.
    mutating func append(_ text: StaticString) {
        if text.hasPointerRepresentation {
            // SAFETY: a pointer-represented StaticString has utf8CodeUnitCount bytes at utf8Start.
            let buffer = UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
            for byte in buffer { append(byte: byte) }
        } else {
            append(unicodeScalar: text.unicodeScalar)
        }
    }

    /// Appends a String's UTF-8 bytes.
    mutating func append(_ text: String) {
        for byte in text.utf8 { append(byte: byte) }
    }

    /// Appends a Unicode scalar as UTF-8.
    mutating func append(unicodeScalar scalar: Unicode.Scalar) {
        for byte in UTF8.encode(scalar)! { append(byte: byte) }
    }

    /// Appends `magnitude` in `radix` (at most 16), with a minus sign if `negative`, zero-padded to `width` digits.
    mutating func append(magnitude: UInt64, negative: Bool, radix: UInt64, width: Int = 0) {
        if negative { append(byte: UInt8(ascii: "-")) }
        // The digits, least significant first; 64 is enough for a UInt64 in any radix >= 2.
        var digits = zero64
        // SAFETY: `digits` is 64 contiguous bytes, and `count` stays below 64.
        withUnsafeMutableBytes(of: &digits) { digits in
            var count = 0
            var rest = magnitude
            repeat {
                let digit = UInt8(truncatingIfNeeded: rest % radix)
                digits[count] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10
                count += 1
                rest /= radix
            } while rest != 0
            while count < min(width, 64) {
                digits[count] = UInt8(ascii: "0")
                count += 1
            }
            while count > 0 {
                count -= 1
                append(byte: digits[count])
            }
        }
    }

    /// Builds a `GuestMessage` from the parts of an interpolated literal.
    public struct StringInterpolation: StringInterpolationProtocol, Sendable {
        var message = GuestMessage()

        /// Starts an empty message; the capacity hints are not needed with a fixed buffer.
        public init(literalCapacity: Int, interpolationCount: Int) {}

        /// Appends the literal text between interpolations.
        public mutating func appendLiteral(_ literal: StaticString) { message.append(literal) }

        /// Appends an integer in decimal: `\(count)`.
        public mutating func appendInterpolation<T: BinaryInteger>(_ value: T) {
            message.append(magnitude: UInt64(truncatingIfNeeded: value.magnitude), negative: value < 0, radix: 10)
        }

        /// Appends an integer's bits in hex with a 0x prefix, zero-padded to `width` digits: `\(hex: address)`.
        /// A negative value shows its two's complement in its own width, as `%x` does in C.
        public mutating func appendInterpolation<T: BinaryInteger>(hex value: T, width: Int = 0) {
            message.append("0x")
            let mask: UInt64 = value.bitWidth >= 64 ? ~0 : (1 << UInt64(value.bitWidth)) - 1
            let bits = UInt64(truncatingIfNeeded: value) & mask
            message.append(magnitude: bits, negative: false, radix: 16, width: width)
        }

        /// Appends a String: `\(name)`.
        public mutating func appendInterpolation(_ value: String) { message.append(value) }

        /// Appends a static string.
        public mutating func appendInterpolation(_ value: StaticString) { message.append(value) }

        /// Appends `true` or `false`.
        public mutating func appendInterpolation(_ value: Bool) { message.append(value ? "true" : "false") }

        /// Appends a Character.
        public mutating func appendInterpolation(_ value: Character) {
            for byte in value.utf8 { message.append(byte: byte) }
        }

        /// Appends another message's text.
        public mutating func appendInterpolation(_ value: GuestMessage) {
            value.withUTF8 { for byte in $0 { message.append(byte: byte) } }
        }
    }
}

/// 64 bytes as a tuple, for fixed storage without InlineArray.
typealias Bytes64 = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
/// 1,024 bytes as a tuple.
typealias Bytes1024 = (
    Bytes64, Bytes64, Bytes64, Bytes64, Bytes64, Bytes64, Bytes64, Bytes64,
    Bytes64, Bytes64, Bytes64, Bytes64, Bytes64, Bytes64, Bytes64, Bytes64
)
/// 64 zero bytes.
let zero64: Bytes64 = (0, 0, 0, 0, 0, 0, 0, 0)
