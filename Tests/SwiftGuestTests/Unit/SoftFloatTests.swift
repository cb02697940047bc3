import SwiftGuestSoftFloat
import Testing

// The guest runtime's integer-only double routines (SwiftGuest/SoftFloat/softfloat.c), built for the host and
// checked bit for bit against the host's FPU: random operands from every exponent range, plus the special values.

/// SplitMix64: a reproducible stream of 64-bit values.
private struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// A double's bits: often special (zeros, infinities, NaN, subnormals, extremes), otherwise random, sometimes
    /// close to the previous operand so that additions cancel.
    mutating func operand(near other: UInt64? = nil) -> UInt64 {
        let specials: [Double] = [
            0, -0.0, 1, -1, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, -.leastNormalMagnitude,
            .greatestFiniteMagnitude, 0.5, 3, Double(bitPattern: 0x0000_1234_5678_9abc), -2.5e-308,
        ]
        let pick = next() % 16
        if pick < 2 { return specials[Int(next() % UInt64(specials.count))].bitPattern }
        if pick < 4, let other { return (other &+ (next() % 8)) ^ (next() & (1 << 63)) }
        return next()
    }
}

private let rounds = 100_000

/// Equal bits, or both NaN (the sign and payload of a NaN result are not specified).
private func same(_ a: UInt64, _ b: Double) -> Bool {
    Double(bitPattern: a).isNaN ? b.isNaN : a == b.bitPattern
}

@Suite("Soft-float routines against the host FPU")
struct SoftFloatTests {
    @Test("add, subtract, multiply and divide round exactly as the FPU does")
    func arithmetic() {
        var random = SplitMix(state: 1)
        var mismatches: [String] = []
        for _ in 0..<rounds {
            let a = random.operand()
            let b = random.operand(near: a)
            let x = Double(bitPattern: a), y = Double(bitPattern: b)
            let checks: [(String, UInt64, Double)] = [
                ("+", kvmh_sf_add(a, b), x + y), ("-", kvmh_sf_sub(a, b), x - y),
                ("*", kvmh_sf_mul(a, b), x * y), ("/", kvmh_sf_div(a, b), x / y),
            ]
            for (operation, soft, hard) in checks where !same(soft, hard) {
                mismatches.append("\(x) \(operation) \(y): soft \(Double(bitPattern: soft)), FPU \(hard)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, the first: \(mismatches.prefix(5))")
    }

    @Test("conversions from and to 64-bit integers")
    func conversions() {
        var random = SplitMix(state: 2)
        for _ in 0..<rounds {
            let bits = random.next()
            let shift = random.next() % 64
            let signed = Int64(bitPattern: bits) >> shift, unsigned = bits >> shift
            #expect(kvmh_sf_from_int64(signed) == Double(signed).bitPattern)
            #expect(kvmh_sf_from_uint64(unsigned) == Double(unsigned).bitPattern)
            let value = Double(bitPattern: random.operand())
            if value.isFinite && value > -9.2e18 && value < 9.2e18 {
                #expect(kvmh_sf_to_int64(value.bitPattern) == Int64(value))
            }
            if value.isFinite && value >= 0 && value < 1.8e19 {
                #expect(kvmh_sf_to_uint64(value.bitPattern) == UInt64(value))
            }
        }
        #expect(kvmh_sf_to_int64(Double.infinity.bitPattern) == Int64.max)
        #expect(kvmh_sf_to_int64((-Double.infinity).bitPattern) == Int64.min)
        #expect(kvmh_sf_to_int64(Double.nan.bitPattern) == 0)
        #expect(kvmh_sf_to_uint64((-1.0).bitPattern) == 0)
    }

    @Test("comparisons, with NaN unordered and +0 == -0")
    func comparisons() {
        var random = SplitMix(state: 3)
        for _ in 0..<rounds {
            let a = random.operand(), b = random.operand(near: a)
            let x = Double(bitPattern: a), y = Double(bitPattern: b)
            let expected = x.isNaN || y.isNaN ? 7 : (x < y ? -1 : (x > y ? 1 : 0))
            #expect(kvmh_sf_compare(a, b, 7) == expected, "\(x) <=> \(y)")
        }
        #expect(kvmh_sf_compare(0.0.bitPattern, (-0.0).bitPattern, 7) == 0)
    }

    @Test("ceil rounds up to an integral value")
    func ceiling() {
        var random = SplitMix(state: 4)
        for _ in 0..<rounds {
            let value = Double(bitPattern: random.operand())
            #expect(same(kvmh_sf_ceil(value.bitPattern), value.rounded(.up)), "ceil(\(value))")
        }
        #expect(kvmh_sf_ceil((-0.5).bitPattern) == (-0.0).bitPattern)
        #expect(kvmh_sf_ceil(0.25.bitPattern) == 1.0.bitPattern)
        #expect(kvmh_sf_ceil(4503599627370495.5.bitPattern) == 4503599627370496.0.bitPattern)
    }
}
