import SwiftGuestMessage
import Testing

// The Swift guest library's message formatter, built for the host: the exact text guestPrint and the assertions
// put into the ucall buffer.

private func text(_ message: GuestMessage) -> String {
    message.withUTF8 { String(decoding: $0, as: UTF8.self) }
}

@Suite("GuestMessage: interpolation into the fixed ucall buffer")
struct GuestMessageTests {
    @Test("integers in decimal, with sign, at every width")
    func decimal() {
        #expect(text("\(0) \(42) \(-42) \(UInt64.max) \(Int64.min) \(Int8(-128))")
            == "0 42 -42 18446744073709551615 -9223372036854775808 -128")
    }

    @Test("hex with 0x, zero-padded on request; negative values as their own width's two's complement")
    func hex() {
        #expect(text("\(hex: 0) \(hex: 255) \(hex: UInt64.max) \(hex: 0x2a, width: 4) \(hex: Int8(-1))")
            == "0x0 0xff 0xffffffffffffffff 0x002a 0xff")
        #expect(text("\(hex: Int32(-2)) \(hex: Int64(-1))") == "0xfffffffe 0xffffffffffffffff")
    }

    @Test("strings, static strings, characters, booleans and nested messages")
    func strings() {
        let name = "gü\u{1F600}st"
        let inner: GuestMessage = "inner \(1)"
        #expect(
            text("[\(name)] \(true) \(false) \(Character("é")) (\(inner))")
                == "[gü\u{1F600}st] true false é (inner 1)")
        #expect(text("") == "")
        #expect(GuestMessage().isEmpty)
        #expect(!GuestMessage("x").isEmpty)
    }

    @Test("text past 1,023 bytes is cut there and ends in ..., as the C runtime's printf marks it")
    func truncation() {
        let long = String(repeating: "abcdefghij", count: 120)  // 1,200 bytes
        let result = text("\(long)")
        #expect(result.utf8.count == 1023)
        #expect(result == String(long.prefix(1020)) + "...")
        let exact = String(repeating: "x", count: 1023)
        #expect(text("\(exact)") == exact, "exactly full is not truncated")
    }
}
