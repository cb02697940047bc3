import KVMHarnessTesting
import XCTest

/// The XCTest adapter records a Swift guest's failed guestAssertEqual at the guest's #fileID and line, as it does a C
/// guest's GUEST_ASSERT_EQ: captured here by overriding recordFailure, so the expected failure does not fail the
/// suite.
final class SwiftGuestXCTests: XCTestCase {
    private var captured: [(description: String, file: String, line: Int)] = []
    private var capturing = false

    override func recordFailure(
        withDescription description: String, inFile filePath: String, atLine lineNumber: Int, expected: Bool
    ) {
        if capturing {
            captured.append((description, filePath, lineNumber))
        } else {
            super.recordFailure(withDescription: description, inFile: filePath, atLine: lineNumber, expected: expected)
        }
    }

    func testFailedGuestAssertEqualIsRecordedAtTheSwiftGuestLine() throws {
        try skipUnlessKVM()
        let line = try GuestSource("Scenarios/Scenarios.swift").line(tagged: "assertEqual")
        let vm = try SwiftGuestImage.scenarios.virtualMachine(argument: 1)
        capturing = true
        vm.assertRun(in: self)
        capturing = false
        XCTAssertEqual(captured.count, 1)
        XCTAssertEqual(captured.first?.file, "Scenarios/Scenarios.swift")
        XCTAssertEqual(captured.first?.line, line)
        XCTAssertEqual(
            captured.first?.description,
            "guest assertion failed: Scenarios/Scenarios.swift:\(line): guestAssertEqual: "
                + "expected left == right: left = 0x2a (42), right = 0x2b (43)")
    }

    func testSyncSequence() throws {
        try skipUnlessKVM()
        let vm = try SwiftGuestImage.sync.virtualMachine(argument: 7)
        vm.assertRun(
            in: self,
            ucalls: [
                .sync(stage: 0, 7), .sync(stage: 1, 0x11, 0x12), .sync(stage: 2, 0x21, 0x22, 0x23),
                .sync(stage: 3, 55, 110, 165, 220, 275, 330), .sync(stage: 4, 0x44), .done,
            ], printf: nil)
    }
}
