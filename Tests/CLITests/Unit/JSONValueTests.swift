import Foundation
import KVMHarness
import KVMHarnessReporting
import Testing

@Suite("JSONValue: ordered, compact, valid JSON")
struct JSONValueTests {
    @Test("keys keep their order; replacing keeps the position, nil removes")
    func order() {
        var object: JSONObject = ["event": .string("x"), "b": .int(1)]
        object["a"] = .bool(true)
        object["b"] = .int(2)
        #expect(object.rendered == #"{"event":"x","b":2,"a":true}"#)
        object["b"] = nil
        #expect(object.keys == ["event", "a"])
    }

    @Test("strings escape quotes, backslashes and control characters, and round-trip through a JSON parser")
    func escaping() throws {
        let nasty = "quote \" backslash \\ newline \n tab \t bell \u{07} nul \u{0} del \u{7f} ü 🚀 \u{2028}"
        let rendered = JSONValue.string(nasty).description
        #expect(!rendered.contains("\n"))
        #expect(rendered.contains(#"\u0007"#))
        #expect(rendered.contains(#"\u0000"#))
        let parsed = try JSONSerialization.jsonObject(with: Data("[\(rendered)]".utf8), options: []) as? [String]
        #expect(parsed == [nasty])
    }

    @Test("numbers, nulls, arrays, nesting")
    func values() {
        let value = JSONValue.array([
            .null, .int(-5), .unsigned(UInt64.max), .number("1.500"), .hex(UInt64(0x5000_0000_0000)),
            .object(["k": .array([])]),
        ])
        #expect(value.description == #"[null,-5,18446744073709551615,1.500,"0x500000000000",{"k":[]}]"#)
    }
}
