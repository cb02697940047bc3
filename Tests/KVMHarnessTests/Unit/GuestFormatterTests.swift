// The guest runtime's printf-style formatter (format.c), checked against glibc's vsnprintf: thousands of random
// format strings with matching arguments must give byte-identical output and return values, and the truncation
// marker, the small-buffer cases and the NULL, %p and unknown-conversion cases are checked one by one.
// Pure host-side logic: no /dev/kvm needed.
import Glibc
import KVMHarnessGuest
import Testing


/// One variadic argument, kept with a description for failure messages. Strings are strdup'ed C strings that the
/// owner frees after both formatters have run.
private enum Arg: CustomStringConvertible {
    case int32(Int32)
    case int64(Int64)
    case pointer(Int) // an address passed as a pointer-sized integer (0 is NULL)
    case string(UnsafeMutablePointer<CChar>?)

    var cVarArg: CVarArg {
        switch self {
        case .int32(let v): v
        case .int64(let v): v
        case .pointer(let v): v
        case .string(let p): p.map { $0 as CVarArg } ?? Int(0)
        }
    }

    var description: String {
        switch self {
        case .int32(let v): "Int32(\(v))"
        case .int64(let v): "Int64(\(v))"
        case .pointer(let v): "pointer(0x\(String(UInt(bitPattern: v), radix: 16)))"
        case .string(let p): p.map { "\"\(String(cString: $0))\"" } ?? "NULL"
        }
    }

    func free() {
        if case .string(let p?) = self { Glibc.free(p) }
    }
}

/// Runs `body` with a va_list of `args` (a fresh one per call).
private func withArgs<R>(_ args: [Arg], _ body: (CVaListPointer) -> R) -> R {
    withVaList(args.map(\.cVarArg), body)
}

/// Formats with guest_vsnprintf into a buffer of `size` bytes, returning the result and the output bytes.
private func guestFormat(_ fmt: String, _ args: [Arg], size: Int) -> (ret: Int32, bytes: [UInt8]) {
    var buf = [CChar](repeating: 0x5A, count: max(size, 1))
    let ret = buf.withUnsafeMutableBufferPointer { b in
        withArgs(args) { guest_vsnprintf(b.baseAddress, size, fmt, $0) }
    }
    return (ret, bytes(buf, count: Int(ret), size: size))
}

/// The same with glibc's vsnprintf.
private func glibcFormat(_ fmt: String, _ args: [Arg], size: Int) -> (ret: Int32, bytes: [UInt8]) {
    var buf = [CChar](repeating: 0x5A, count: max(size, 1))
    let ret = buf.withUnsafeMutableBufferPointer { b in
        withArgs(args) { vsnprintf(b.baseAddress, size, fmt, $0) }
    }
    return (ret, bytes(buf, count: Int(ret), size: size))
}

/// The output bytes: the first min(count, size - 1) bytes of `buf` (output may contain NULs from %c).
private func bytes(_ buf: [CChar], count: Int, size: Int) -> [UInt8] {
    guard size > 0, count >= 0 else { return [] }
    return buf.prefix(min(count, size - 1)).map { UInt8(bitPattern: $0) }
}

private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

// MARK: - Random format strings

private let int32Edges: [Int32] = [
    0, 1, -1, 2, 7, 8, 9, 10, 15, 16, 255, 256, -128, 127, 128, -129, Int32(Int16.min), Int32(Int16.max), 65535,
    65536, Int32.min, Int32.max, Int32.min + 1,
]
private let int64Edges: [Int64] = [
    0, 1, -1, 8, 10, 16, 255, Int64(Int32.min), Int64(Int32.max), Int64(UInt32.max), Int64(UInt32.max) + 1,
    Int64.min, Int64.max, Int64.min + 1, 1_000_000_000_000, -1_000_000_000_000,
]
private let sampleStrings = ["", "a", "hello", "Hello, guest!", "0123456789abcdef", "tab\there", "(null)", "é ü"]
private let literalAlphabet = Array("abcXYZ019 .,:;-+#*()[]=_/\\\n\t\"'é")

private func randomInt32(_ rng: inout SplitMix64) -> Int32 {
    switch rng.below(10) {
    case 0: 0 // often: most corner cases (precision 0, '#') are about zero
    case 1, 2, 3, 4: rng.pick(int32Edges)
    case 5, 6: Int32(rng.below(2000)) - 1000
    default: Int32(truncatingIfNeeded: rng.next())
    }
}

private func randomInt64(_ rng: inout SplitMix64) -> Int64 {
    switch rng.below(10) {
    case 0: 0 // often: most corner cases (precision 0, '#') are about zero
    case 1, 2, 3, 4: rng.pick(int64Edges)
    case 5, 6: Int64(rng.below(2_000_000)) - 1_000_000
    default: Int64(bitPattern: rng.next())
    }
}

/// Appends one random conversion specification to `fmt` and its arguments to `args`.
private func appendSpec(_ rng: inout SplitMix64, _ fmt: inout String, _ args: inout [Arg]) {
    fmt += "%"
    for _ in 0..<rng.pick([0, 0, 1, 1, 2, 3]) {
        fmt.append(rng.pick(Array("-+ #0")))
    }

    switch rng.below(6) {
    case 0:
        fmt += "*"
        args.append(.int32(rng.chance(20) ? rng.pick([0, -1, 1]) : Int32(rng.below(61)) - 30))
    case 1, 2:
        fmt += String(rng.below(rng.chance(10) ? 100 : 25))
    default:
        break
    }

    switch rng.below(6) {
    case 0:
        fmt += ".*"
        args.append(.int32(rng.chance(20) ? rng.pick([0, -1, -10]) : Int32(rng.below(30))))
    case 1:
        fmt += "."
    case 2:
        fmt += "." + String(rng.below(rng.chance(10) ? 40 : 12))
    default:
        break
    }

    switch rng.below(16) {
    case 0..<10:
        let length = rng.pick(["", "", "", "hh", "h", "l", "ll", "z", "j", "t"])
        fmt += length + String(rng.pick(Array("diuxXo")))
        args.append(length.isEmpty || length.hasPrefix("h") ? .int32(randomInt32(&rng)) : .int64(randomInt64(&rng)))
    case 10, 11:
        fmt += "s"
        args.append(.string(rng.chance(15) ? nil : strdup(rng.pick(sampleStrings))))
    case 12:
        fmt += "c"
        args.append(.int32(rng.chance(80) ? Int32(32 + rng.below(95)) : randomInt32(&rng)))
    case 13, 14:
        fmt += "p"
        let address = rng.pick([0, 1, 0x1000, 0xdead_beef, Int.max, -1, Int(bitPattern: UInt(rng.next()))])
        args.append(.pointer(address))
    default:
        fmt += "%"
    }
}

private func randomFormat(_ rng: inout SplitMix64) -> (String, [Arg]) {
    var fmt = ""
    var args: [Arg] = []
    for _ in 0..<(1 + rng.below(6)) {
        if rng.chance(35) {
            for _ in 0..<(1 + rng.below(8)) { fmt.append(rng.pick(literalAlphabet)) }
        } else {
            appendSpec(&rng, &fmt, &args)
        }
    }
    return (fmt, args)
}

/// What guest_vsnprintf must produce in `size` bytes, given the full output.
private func expectedTruncation(_ full: [UInt8], size: Int) -> [UInt8] {
    if size == 0 { return [] }
    if full.count < size { return full }
    if size < 4 { return Array(full.prefix(size - 1)) }
    return Array(full.prefix(size - 4)) + Array("...".utf8)
}

// MARK: - Tests

@Suite("Guest printf formatter")
struct GuestFormatterTests {
    @Test("matches glibc vsnprintf on random format strings")
    func differential() {
        var rng = SplitMix64(state: 0x4B56_4D48_6172_6E73)
        var mismatches = 0
        let count = 5000

        for _ in 0..<count {
            let (fmt, args) = randomFormat(&rng)
            defer { args.forEach { $0.free() } }

            let glibc = glibcFormat(fmt, args, size: 8192)
            let guest = guestFormat(fmt, args, size: 8192)
            if guest.ret != glibc.ret || guest.bytes != glibc.bytes {
                mismatches += 1
                if mismatches <= 20 {
                    Issue.record(
                        """
                        format \(fmt.debugDescription) args \(args)
                          glibc: \(text(glibc.bytes).debugDescription) -> \(glibc.ret)
                          guest: \(text(guest.bytes).debugDescription) -> \(guest.ret)
                        """
                    )
                }
                continue
            }

            // The same output into a random smaller buffer: cut short and marked, same return value.
            let size = rng.below(glibc.bytes.count + 3)
            let small = guestFormat(fmt, args, size: size)
            let want = expectedTruncation(glibc.bytes, size: size)
            if small.ret != glibc.ret || small.bytes != want {
                mismatches += 1
                if mismatches <= 20 {
                    Issue.record(
                        """
                        format \(fmt.debugDescription) args \(args) size \(size)
                          want:  \(text(want).debugDescription) -> \(glibc.ret)
                          guest: \(text(small.bytes).debugDescription) -> \(small.ret)
                        """
                    )
                }
            }
        }
        #expect(mismatches == 0, "\(mismatches) of \(count) random formats differ from glibc")
    }

    @Test("a 1200-character output in 1024 bytes ends in \"...\" and writes nothing past the NUL")
    func truncationMarker() {
        let long = String(repeating: "0123456789", count: 120)
        var canary = [CChar](repeating: 0x5A, count: 2048)
        let ret = long.withCString { s in
            canary.withUnsafeMutableBufferPointer { b in
                withVaList([s]) { guest_vsnprintf(b.baseAddress, 1024, "%s", $0) }
            }
        }
        #expect(ret == 1200)
        let written = canary.prefix(1023).map { UInt8(bitPattern: $0) }
        #expect(text(written) == String(long.prefix(1020)) + "...")
        #expect(canary[1023] == 0)
        #expect(canary[1024...].allSatisfy { $0 == 0x5A })

        // A width that pads far past the end is counted, not written.
        var small = [CChar](repeating: 0x5A, count: 64)
        let padded = small.withUnsafeMutableBufferPointer { b in
            withVaList([Int32(7)]) { guest_vsnprintf(b.baseAddress, 16, "%100000d|", $0) }
        }
        #expect(padded == 100_001)
        #expect(text(small.prefix(15).map { UInt8(bitPattern: $0) }) == String(repeating: " ", count: 12) + "...")
        #expect(small[15] == 0)
        #expect(small[16...].allSatisfy { $0 == 0x5A })
    }

    @Test("size 0 writes nothing and returns the full length")
    func sizeZero() {
        let withNil = withVaList([Int32(12345)]) { guest_vsnprintf(nil, 0, "value %d", $0) }
        #expect(withNil == 11)

        var canary = [CChar](repeating: 0x5A, count: 8)
        let ret = canary.withUnsafeMutableBufferPointer { b in
            withVaList([Int32(12345)]) { guest_vsnprintf(b.baseAddress, 0, "value %d", $0) }
        }
        #expect(ret == 11)
        #expect(canary.allSatisfy { $0 == 0x5A })
    }

    @Test(
        "sizes 1 to 7 cut short, NUL-terminate and mark at 4 and up",
        arguments: [(1, ""), (2, "h"), (3, "he"), (4, "..."), (5, "h..."), (6, "hello"), (7, "hello")]
    )
    func smallSizes(size: Int, expected: String) {
        var canary = [CChar](repeating: 0x5A, count: 16)
        let ret = "hello".withCString { s in
            canary.withUnsafeMutableBufferPointer { b in
                withVaList([s]) { guest_vsnprintf(b.baseAddress, size, "%s", $0) }
            }
        }
        #expect(ret == 5)
        let end = expected.utf8.count
        #expect(text(canary.prefix(end).map { UInt8(bitPattern: $0) }) == expected)
        #expect(canary[end] == 0)
        #expect(canary[(end + 1)...].allSatisfy { $0 == 0x5A })
    }

    @Test("NULL %s prints (null) unless the precision is below 6, as glibc does")
    func nullString() {
        for fmt in ["%s", "%.5s", "%.6s", "%.0s", "%8s|", "%-8s|", "%-8.3s|", "%10.7s", "%.*s"] {
            let args: [Arg] = fmt.contains("*") ? [.int32(4), .string(nil)] : [.string(nil)]
            let guest = guestFormat(fmt, args, size: 64)
            let glibc = glibcFormat(fmt, args, size: 64)
            #expect(guest.bytes == glibc.bytes && guest.ret == glibc.ret, "\(fmt): \(text(guest.bytes))")
        }
        #expect(text(guestFormat("%s", [.string(nil)], size: 64).bytes) == "(null)")
        #expect(text(guestFormat("[%.5s]", [.string(nil)], size: 64).bytes) == "[]")
    }

    @Test("%s with a precision reads no further than the precision")
    func stringPrecisionBound() throws {
        // Five bytes with no NUL, right before a page that faults when touched.
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let mapping = mmap(nil, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        let base = try #require(mapping == UnsafeMutableRawPointer(bitPattern: -1) ? nil : mapping)
        defer { munmap(base, 2 * page) }
        #expect(mprotect(base + page, page, PROT_NONE) == 0)
        let tail = (base + page - 5).assumingMemoryBound(to: CChar.self)
        for (i, c) in "abcde".utf8.enumerated() { tail[i] = CChar(bitPattern: c) }

        let address = Arg.pointer(Int(bitPattern: tail))
        let result = guestFormat("<%.5s><%.3s><%.*s>", [address, address, .int32(5), address], size: 64)
        #expect(text(result.bytes) == "<abcde><abc><abcde>")
    }

    @Test("%p prints 0x and lower-case hex, and (nil) for NULL, as glibc does")
    func pointers() {
        #expect(text(guestFormat("%p", [.pointer(0)], size: 64).bytes) == "(nil)")
        #expect(text(guestFormat("%p", [.pointer(0x1234_abcd)], size: 64).bytes) == "0x1234abcd")
        for fmt in ["%p", "%10p|", "%-10p|", "%010p", "%.8p", "%+p", "% p", "%#p", "%.0p", "%18p"] {
            for address in [0, 1, 0x1234_abcd, -1] {
                let args: [Arg] = [.pointer(address)]
                let guest = guestFormat(fmt, args, size: 64)
                let glibc = glibcFormat(fmt, args, size: 64)
                #expect(
                    guest.bytes == glibc.bytes && guest.ret == glibc.ret,
                    "\(fmt) \(address): guest \(text(guest.bytes)), glibc \(text(glibc.bytes))"
                )
            }
        }
    }

    @Test("an unknown conversion is copied as written and takes no argument of its own")
    func unknownConversion() {
        #expect(text(guestFormat("%q", [], size: 64).bytes) == "%q")
        #expect(text(guestFormat("a%yb", [], size: 64).bytes) == "a%yb")
        #expect(text(guestFormat("%-5.3y|", [], size: 64).bytes) == "%-5.3y|")
        #expect(text(guestFormat("%lly|", [], size: 64).bytes) == "%lly|")
        // A '*' width is still taken from the arguments, so the next conversion gets the right one.
        #expect(text(guestFormat("%*y %d", [.int32(5), .int32(42)], size: 64).bytes) == "%*y 42")
        // A format that ends inside a specification.
        let trailing = guestFormat("100%", [], size: 64)
        #expect(text(trailing.bytes) == "100%" && trailing.ret == 4)
        #expect(text(guestFormat("x%-08.", [], size: 64).bytes) == "x%-08.")
    }

    @Test("integer corner cases match glibc")
    func integerCorners() {
        let cases: [(String, [Arg])] = [
            ("%.0d|%.0u|%.0x|%.0o|%#.0o|%#.0x|%#x", [.int32(0), .int32(0), .int32(0), .int32(0), .int32(0),
                                                      .int32(0), .int32(0)]),
            ("%lld %lli", [.int64(Int64.min), .int64(Int64.max)]),
            ("%d %d", [.int32(Int32.min), .int32(Int32.max)]),
            ("%hhd %hhu %hd %hu", [.int32(300), .int32(-1), .int32(70000), .int32(-1)]),
            ("%+05d|%-05d|%05.3d|% d|%+ d", [.int32(3), .int32(3), .int32(3), .int32(3), .int32(3)]),
            ("%#08x|%#-08o|%#05X|%#.3o|%#5.2x", [.int32(255), .int32(8), .int32(1), .int32(8), .int32(1)]),
            ("%*d|%.*d|%-*d|", [.int32(-4), .int32(5), .int32(-3), .int32(5), .int32(-4), .int32(6)]),
            ("%zu %zd %ju %td", [.int64(-1), .int64(-1), .int64(Int64.min), .int64(-5)]),
            ("%5%|%-5%|%*%|%d", [.int32(7), .int32(8)]),
            ("%05s|%05c|%.3c", [.string(strdup("ab")), .int32(120), .int32(97)]),
            // A width or precision beyond INT_MAX: glibc returns -1.
            ("%99999999999d|", [.int32(5)]),
            ("%.99999999999d|", [.int32(5)]),
        ]
        for (fmt, args) in cases {
            defer { args.forEach { $0.free() } }
            let guest = guestFormat(fmt, args, size: 256)
            let glibc = glibcFormat(fmt, args, size: 256)
            #expect(
                guest.bytes == glibc.bytes && guest.ret == glibc.ret,
                "\(fmt): guest \(text(guest.bytes).debugDescription), glibc \(text(glibc.bytes).debugDescription)"
            )
        }
        // A '*' width of INT_MIN means a left-justified width of 2^31: too long, so -1 as in glibc (which takes
        // seconds to get there, so it is not run here).
        #expect(guestFormat("%*d|", [.int32(Int32.min), .int32(5)], size: 64).ret == -1)
    }
}
