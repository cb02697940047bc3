// Guest assertions: ABORT ucalls with the Swift file (#fileID) and line, which the host's test helpers record as a
// failure at that file and line, in XCTest and in Swift Testing, as they do for C guests' GUEST_ASSERT.
//
// The ABORT is the C runtime's: args[0] = the address of the expression's text, args[1] = the file name's, args[2]
// = the line, the message in the buffer. StaticString literals are NUL-terminated, so the host reads them as the C
// strings it expects. Swift cannot capture an expression's source text without a macro, so the expression is the
// assertion's name unless the caller passes `expression:`.
import KVMHarnessSwiftGuestRuntime

/// Fails the guest unless `condition` holds: `guestAssert(count == 3, "count is \(count)")`.
@inline(__always)
public func guestAssert(
    _ condition: Bool, _ message: @autoclosure () -> GuestMessage = "assertion failed",
    expression: StaticString = "guestAssert", file: StaticString = #fileID, line: UInt = #line
) {
    if _slowPath(!condition) { guestFail(message(), expression: expression, file: file, line: line) }
}

/// Fails the guest: ABORT with the message, at the caller's file and line. The host never resumes it.
public func guestFail(
    _ message: GuestMessage, expression: StaticString = "guestFail", file: StaticString = #fileID,
    line: UInt = #line
) -> Never {
    message.withUTF8 { text in
        kvmh_swift_abort(expression.cString, file.cString, UInt64(line), text.baseAddress, text.count)
    }
}

/// Fails unless `left == right`, sending both values (`left = 0x2a (42), right = 0x2b (43)`), as C's
/// GUEST_ASSERT_EQ does. The two sides may be different integer types; they are compared as integers, not bits.
@inline(__always)
public func guestAssertEqual<Left: BinaryInteger, Right: BinaryInteger>(
    _ left: Left, _ right: Right, _ message: @autoclosure () -> GuestMessage = GuestMessage(),
    expression: StaticString = "guestAssertEqual", file: StaticString = #fileID, line: UInt = #line
) {
    if _slowPath(!(left == right)) {
        comparisonFailed("==", left, right, message(), expression, file, line)
    }
}

/// Fails unless `left != right`, sending both values.
@inline(__always)
public func guestAssertNotEqual<Left: BinaryInteger, Right: BinaryInteger>(
    _ left: Left, _ right: Right, _ message: @autoclosure () -> GuestMessage = GuestMessage(),
    expression: StaticString = "guestAssertNotEqual", file: StaticString = #fileID, line: UInt = #line
) {
    if _slowPath(!(left != right)) {
        comparisonFailed("!=", left, right, message(), expression, file, line)
    }
}

/// Fails unless `left < right`, sending both values.
@inline(__always)
public func guestAssertLessThan<Left: BinaryInteger, Right: BinaryInteger>(
    _ left: Left, _ right: Right, _ message: @autoclosure () -> GuestMessage = GuestMessage(),
    expression: StaticString = "guestAssertLessThan", file: StaticString = #fileID, line: UInt = #line
) {
    if _slowPath(!(left < right)) {
        comparisonFailed("<", left, right, message(), expression, file, line)
    }
}

/// Fails unless `left <= right`, sending both values.
@inline(__always)
public func guestAssertLessThanOrEqual<Left: BinaryInteger, Right: BinaryInteger>(
    _ left: Left, _ right: Right, _ message: @autoclosure () -> GuestMessage = GuestMessage(),
    expression: StaticString = "guestAssertLessThanOrEqual", file: StaticString = #fileID, line: UInt = #line
) {
    if _slowPath(!(left <= right)) {
        comparisonFailed("<=", left, right, message(), expression, file, line)
    }
}

/// Fails unless `left > right`, sending both values.
@inline(__always)
public func guestAssertGreaterThan<Left: BinaryInteger, Right: BinaryInteger>(
    _ left: Left, _ right: Right, _ message: @autoclosure () -> GuestMessage = GuestMessage(),
    expression: StaticString = "guestAssertGreaterThan", file: StaticString = #fileID, line: UInt = #line
) {
    if _slowPath(!(left > right)) {
        comparisonFailed(">", left, right, message(), expression, file, line)
    }
}

/// Fails unless `left >= right`, sending both values.
@inline(__always)
public func guestAssertGreaterThanOrEqual<Left: BinaryInteger, Right: BinaryInteger>(
    _ left: Left, _ right: Right, _ message: @autoclosure () -> GuestMessage = GuestMessage(),
    expression: StaticString = "guestAssertGreaterThanOrEqual", file: StaticString = #fileID, line: UInt = #line
) {
    if _slowPath(!(left >= right)) {
        comparisonFailed(">=", left, right, message(), expression, file, line)
    }
}

/// The failure path of the comparison assertions, kept out of line and generic only at its entry, so that an
/// assertion that holds costs a compare and a branch. The message reads as C's:
/// `expected left == right: left = 0x2a (42), right = 0x2b (43)`, then the caller's message, if any.
@inline(never)
func comparisonFailed<Left: BinaryInteger, Right: BinaryInteger>(
    _ operation: StaticString, _ left: Left, _ right: Right, _ message: GuestMessage, _ expression: StaticString,
    _ file: StaticString, _ line: UInt
) -> Never {
    // In hex, the value's 64-bit two's complement, as C's (uint64_t) cast shows it; in decimal, the value itself.
    let leftBits = UInt64(truncatingIfNeeded: left), rightBits = UInt64(truncatingIfNeeded: right)
    var text: GuestMessage =
        "expected left \(operation) right: left = \(hex: leftBits) (\(left)), right = \(hex: rightBits) (\(right))"
    if !message.isEmpty { text = "\(text): \(message)" }
    guestFail(text, expression: expression, file: file, line: line)
}

extension StaticString {
    /// The NUL-terminated text, for the host to read as a C string. A literal always has a pointer representation;
    /// a single-scalar StaticString (which has none) is never an expression or a file name here.
    var cString: UnsafePointer<CChar>? {
        guard hasPointerRepresentation else { return nil }
        // SAFETY: a pointer-represented StaticString is a NUL-terminated literal in read-only data.
        return UnsafeRawPointer(utf8Start).assumingMemoryBound(to: CChar.self)
    }
}
