import KVMHarnessReporting
import Testing

// Reading JSON and run records back, and comparing two records: pure, no KVM.

private let header = #"{"event":"record","format":1,"host":{"cpu_vendor":"GenuineIntel","cpu_model":"Xeon","kernel":"6.18","machine":"x86_64"}}"#

/// A record with one image, `clean`, whose SYNC carries `value` and whose times are `milliseconds`.
private func record(value: String = "0x20", milliseconds: String = "0.608", rip: String = "0x400060") -> String {
    [
        header,
        #"{"event":"image","name":"clean","path":"/a/clean.elf","vcpus":1}"#,
        #"{"event":"exit","vcpu":0,"reason":"MMIO","reason_code":6,"address":"0x500000000000","explanation":"a ucall (MMIO transport)"}"#,
        #"{"event":"ucall","vcpu":0,"cmd":"SYNC","args":["0x1","\#(value)","0x0","0x0","0x0","0x0","0x0"]}"#,
        #"{"event":"timeout","vcpu":0,"rip":"\#(rip)","deadline_ms":1000.000,"last_ucall":"SYNC [0x1]","exits":{"MMIO":1}}"#,
        #"{"event":"summary","result":"timeout","exits":{"MMIO":1},"ucalls":1,"elapsed_ms":\#(milliseconds),"exit_times":{}}"#,
        #"{"event":"verdict","image":"clean","verdict":"timeout","result":"timeout","status":3,"reason":"x","elapsed_ms":\#(milliseconds)}"#,
    ].joined(separator: "\n") + "\n"
}

@Suite("JSONParser and RecordDiff")
struct RecordDiffTests {
    @Test("JSON: values, key order, escapes, surrogate pairs, big integers")
    func parse() throws {
        let value = try JSONParser.parse(
            #" {"b":[1,-2,18446744073709551615,1.5e3,true,false,null],"a":"x\"\\\/\n\u00e9\ud834\udd1e"} "#)
        guard case .object(let object) = value else {
            Issue.record("not an object: \(value)")
            return
        }
        #expect(object.keys == ["b", "a"])
        #expect(object["b"] == .array([.int(1), .int(-2), .unsigned(UInt64.max), .number("1.5e3"), .bool(true),
            .bool(false), .null]))
        #expect(object["a"] == .string("x\"\\/\né𝄞"))
    }

    @Test("JSON: every malformed input is an error with its offset, never a crash")
    func malformed() {
        let cases: [(String, String)] = [
            ("", "unexpected end at byte 0"), ("{", "expected a string key at byte 1"), ("[1,]", "expected a value at byte 3"),
            ("01", "a number with a leading zero at byte 2"), ("\"\u{1}\"", "a control character in a string at byte 2"),
            (#""\ud800""#, "a high surrogate without its low surrogate at byte 7"), ("1 2", "text after the value at byte 2"),
            ("tru", "expected true at byte 0"), (#""\x""#, "an unknown escape at byte 3"),
            (String(repeating: "[", count: 100), "nested deeper than 64 levels at byte 65"),
        ]
        for (text, expected) in cases {
            do {
                _ = try JSONParser.parse(text)
                Issue.record("parsed: \(text)")
            } catch {
                #expect(error.description == expected, "\(text)")
            }
        }
    }

    @Test("a changed ucall is reported at its place; a changed time, RIP or ucall address is not")
    func differences() throws {
        let original = try RecordFile(text: record(), path: "a")
        #expect(original.host == "GenuineIntel Xeon, Linux 6.18 x86_64")
        #expect(original.images.map(\.name) == ["clean"])
        #expect(original.images[0].facts[0] == [
            #"ucall SYNC args=["0x1","0x20","0x0","0x0","0x0","0x0","0x0"]"#, "timeout after SYNC [0x1]",
        ])
        let retimed = try RecordFile(
            text: record(milliseconds: "99.999", rip: "0x400077").replacingOccurrences(of: "0x500000000000", with: "0x600000000000"),
            path: "b")
        #expect(RecordDiff.differences(original, retimed) == [])
        let changed = try RecordFile(text: record(value: "0x21"), path: "b")
        #expect(RecordDiff.differences(original, changed) == [
            #"clean: vCPU 0 event 1: A ucall SYNC args=["0x1","0x20","0x0","0x0","0x0","0x0","0x0"]; "#
                + #"B ucall SYNC args=["0x1","0x21","0x0","0x0","0x0","0x0","0x0"]"#,
        ])
    }

    @Test("missing events, images only on one side, verdicts")
    func structure() throws {
        let full = try RecordFile(text: record(), path: "a")
        let shorter = try RecordFile(
            text: record().split(separator: "\n").filter { !$0.contains(#""event":"timeout""#) }
                .joined(separator: "\n").replacingOccurrences(of: #""verdict":"timeout""#, with: #""verdict":"pass""#),
            path: "b")
        #expect(RecordDiff.differences(full, shorter) == [
            "clean: verdict: A timeout (timeout, status 3), B pass (timeout, status 3)",
            "clean: vCPU 0: A has 2 events, B 1; the first only in A: timeout after SYNC [0x1]",
        ])
        let other = try RecordFile(text: record().replacingOccurrences(of: #""clean""#, with: #""dirty""#), path: "b")
        #expect(RecordDiff.differences(full, other) == ["clean: only in A", "dirty: only in B"])
    }

    @Test("records that cannot be read: one line naming the file and line")
    func unreadable() {
        func message(_ text: String) -> String? {
            do {
                _ = try RecordFile(text: text, path: "r.jsonl")
                return nil
            } catch {
                return error.message
            }
        }
        #expect(message(header + "\nnot json\n") == "r.jsonl:2: not JSON (expected null at byte 0): read a record "
            + "written by kvm-harness test --record or run --record")
        #expect(message("[1]") == "r.jsonl:1: not a JSON object: read a record written by kvm-harness test --record "
            + "or run --record")
        #expect(message(#"{"a":1}"#) == #"r.jsonl:1: a JSON object without "event": not a run record"#)
        #expect(message(header) == "r.jsonl: no image in this record: write one with kvm-harness test --record PATH")
        #expect(message(#"{"event":"ucall","vcpu":0,"cmd":"DONE"}"#) == "r.jsonl:1: a ucall event before any image line")
    }
}
