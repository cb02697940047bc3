import KVMHarness
/// A JSON value whose objects keep their keys in the order they were built, so that every event line starts with
/// `"event"` and reads the same way each time. Rendering is compact: one line, no spaces.
///
/// The library renders JSON itself (rather than through Foundation's encoders) to control key order and number
/// formatting, and to keep Foundation out of the host library.
package enum JSONValue: Sendable, Equatable, CustomStringConvertible {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A signed integer.
    case int(Int64)
    /// An unsigned integer.
    case unsigned(UInt64)
    /// A number already rendered as a JSON number token (such as "12.345"); the caller guarantees its syntax.
    case number(String)
    /// A string; rendered with JSON escapes.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object with ordered keys.
    case object(JSONObject)

    /// A guest address or other machine word as a "0x..." string: JSON numbers lose precision past 2^53.
    package static func hex<T: BinaryInteger>(_ value: T) -> JSONValue { .string(KVMHarness.hex(value)) }

    /// The compact rendering.
    package var description: String {
        var output = ""
        render(into: &output)
        return output
    }

    func render(into output: inout String) {
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .int(let value): output += String(value)
        case .unsigned(let value): output += String(value)
        case .number(let token): output += token
        case .string(let text): JSONValue.renderString(text, into: &output)
        case .array(let values):
            output += "["
            for (index, value) in values.enumerated() {
                if index > 0 { output += "," }
                value.render(into: &output)
            }
            output += "]"
        case .object(let object): object.render(into: &output)
        }
    }

    /// Writes `text` as a JSON string: quotes, backslashes and control characters escaped, the rest as UTF-8.
    static func renderString(_ text: String, into output: inout String) {
        output += "\""
        // Most strings are printable ASCII with nothing to escape: append them whole.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            output += text
            output += "\""
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    let digits = String(scalar.value, radix: 16)
                    output += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        output += "\""
    }
}

/// A JSON object whose keys stay in insertion order.
package struct JSONObject: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    /// The members, in order.
    package private(set) var members: [(key: String, value: JSONValue)] = []

    /// An empty object.
    package init() {}

    package init(dictionaryLiteral elements: (String, JSONValue)...) {
        for (key, value) in elements { self[key] = value }
    }

    /// The value for `key`; setting appends a new key at the end, replaces an existing one in place, and removes
    /// it for nil.
    package subscript(key: String) -> JSONValue? {
        get { members.first { $0.key == key }?.value }
        set {
            let index = members.firstIndex { $0.key == key }
            switch (index, newValue) {
            case (let index?, let value?): members[index].value = value
            case (let index?, nil): members.remove(at: index)
            case (nil, let value?): members.append((key, value))
            case (nil, nil): break
            }
        }
    }

    /// The keys, in order.
    package var keys: [String] { members.map(\.key) }

    package static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.members.count == rhs.members.count
            && zip(lhs.members, rhs.members).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    func render(into output: inout String) {
        output += "{"
        for (index, member) in members.enumerated() {
            if index > 0 { output += "," }
            JSONValue.renderString(member.key, into: &output)
            output += ":"
            member.value.render(into: &output)
        }
        output += "}"
    }

    /// The compact one-line rendering.
    package var rendered: String {
        var output = ""
        render(into: &output)
        return output
    }
}
