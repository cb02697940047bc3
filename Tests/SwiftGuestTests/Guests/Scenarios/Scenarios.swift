// Swift guest failures and exceptions, one scenario per entry argument (SwiftGuestRunTests and SwiftGuestXCTests
// start the image with arguments: [scenario]). The tests find the lines to expect by the `line:` tags.

// The exception handler reads fields of the C struct behind GuestExceptionRegisters.
import KVMHarnessSwiftGuestRuntime

@main
struct Scenarios {
    /// Counts its calls, to show that each side of an assertion is evaluated once.
    nonisolated(unsafe) static var calls: UInt64 = 0
    /// The vector the #UD handler saw.
    nonisolated(unsafe) static var handledVector: UInt64 = 0

    static func counted(_ value: UInt64) -> UInt64 {
        calls += 1
        return value
    }

    static func main() {
        let x: UInt64 = 41
        switch guestEntryArgument {
        case 1:
            guestAssertEqual(counted(x + 1), 43)  // line: assertEqual
        case 2:
            let items = 3
            guestAssert(items == 4, "have \(items) items, want 4", expression: "items == 4")  // line: assert
        case 3:
            guestFail("gave up after \(3) tries")  // line: fail
        case 4:
            // Swift traps on overflow with UD2: the host sees an unhandled #UD at the trap.
            var big = Int64.max - Int64(x)
            for _ in 0..<100 { big += 1 }
            guestSync(4, UInt64(truncatingIfNeeded: big))
        case 5:
            guestInstallExceptionHandler(vector: 6) { registers in
                guard let registers else { return }
                Scenarios.handledVector = registers.pointee.vector
                registers.pointee.rip += 2  // past the UD2
            }
            guestUndefinedInstruction()
            guestInstallExceptionHandler(vector: 6, nil)
            guestSync(5, handledVector)
        case 6:
            // Allocates 1 MiB arrays, keeping them, until the heap runs out: an ABORT that says what to do. They are
            // left uninitialized: filling megabytes one emulated store at a time would take seconds.
            var blocks: [[UInt8]] = []
            while true { blocks.append([UInt8](unsafeUninitializedCapacity: 1 << 20) { _, count in count = 0 }) }
        case 7:
            guestAssertEqual(counted(x + 1), 42)
            guestAssertNotEqual(x, 40)
            guestAssertLessThan(x, 42)
            guestAssertLessThanOrEqual(x, 41)
            guestAssertGreaterThan(Int8(-1), -2)
            guestAssertGreaterThanOrEqual(x, UInt8(41))
            guestAssert(x == 41)
            guestSync(7, calls)
        case 8:
            return  // without guestDone(): the runtime reports that main returned
        default:
            break
        }
        guestDone()
    }
}
