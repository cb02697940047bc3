// A Swift guest's checkpoints and output: SYNCs with values, PRINTF with interpolation, both transports, DONE.
// SwiftGuestRunTests.syncSequence expects exactly these ucalls.

/// 1 + 2 + ... + n, computed in the guest so that the values are not just constants.
func triangle(_ n: UInt64) -> UInt64 {
    var sum: UInt64 = 0
    for i in 1...n { sum &+= i }
    return sum
}

guestSync(0, guestEntryArgument)
guestSync(1, 0x11, 0x12)
guestSync(2, 0x21, 0x22, 0x23)
let sum = triangle(10)
guestSync(3, sum, sum * 2, sum * 3, sum * 4, sum * 5, sum * 6)
guestPrint("sum = \(sum), hex \(hex: sum), padded \(hex: UInt16(sum), width: 4), negative \(-42), \("text") \(true)")
guestSync(4, 0x44, via: .portIO)
guestPrint("over port I/O: \(Int8(-1)) is \(hex: Int8(-1))", via: .portIO)
guestDone()
