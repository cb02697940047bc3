import KVMHarnessTesting
import TestGuests
import XCTest

/// The core scenarios again from XCTest, to show both frameworks work.
final class CoreXCTests: XCTestCase {
    func testSyncStagesAndDone() throws {
        try skipUnlessKVM()
        let vm = try VirtualMachine(entry: GuestFunction(guest_sync_stages), arguments: [5, 6])
        vm.assertRun(in: self, ucalls: [
            .sync(stage: 1, 0x11, 0x12),
            .sync(stage: 2, 0x21, 0x22, 0x23),
            .sync(stage: 3, 5, 6, 11),
            .done,
        ])
    }

    func testNextUcallOneByOne() throws {
        try skipUnlessKVM()
        let vm = try VirtualMachine(entry: GuestFunction(guest_sync_stages), arguments: [7, 8])
        XCTAssertEqual(try vm.vcpus[0].nextUcall(), .sync([1, 0x11, 0x12]))
        XCTAssertEqual(try vm.vcpus[0].nextUcall(), .sync([2, 0x21, 0x22, 0x23]))
        XCTAssertEqual(try vm.vcpus[0].nextUcall(), .sync([3, 7, 8, 15]))
        XCTAssertEqual(try vm.vcpus[0].nextUcall(), .done)
    }

    func testMalformedUcallWrongSize() throws {
        try skipUnlessKVM()
        let vm = try VirtualMachine(entry: GuestFunction(guest_ucall_wrong_size))
        XCTAssertThrowsError(try vm.vcpus[0].nextUcall()) { error in
            XCTAssertEqual(error as? KVMError, .malformedUcall(.wrongSize(4)))
        }
    }

    func testTwoVCPUs() throws {
        try skipUnlessKVM()
        let vm = try VirtualMachine(entry: GuestFunction(guest_per_vcpu), vcpus: 2, arguments: [9])
        let report = vm.assertRun(in: self)
        XCTAssertEqual(report.vcpus.map(\.checkpoints), [[.sync([1, 9]), .done], [.sync([1, 9]), .done]])
    }
}

/// The XCTest adapter reports a guest assertion at the guest's C file and line: captured here by overriding
/// recordFailure, so the expected failure does not fail the suite.
final class GuestFailureLocationXCTests: XCTestCase {
    private var captured: [(description: String, file: String, line: Int)] = []
    private var capturing = false

    override func recordFailure(withDescription description: String, inFile filePath: String, atLine lineNumber: Int, expected: Bool) {
        if capturing {
            captured.append((description, filePath, lineNumber))
        } else {
            super.recordFailure(withDescription: description, inFile: filePath, atLine: lineNumber, expected: expected)
        }
    }

    func testGuestAssertionIsRecordedAtTheGuestLine() throws {
        try skipUnlessKVM()
        let vm = try VirtualMachine(entry: GuestFunction(guest_assert_eq_fails))
        capturing = true
        vm.assertRun(in: self)
        capturing = false
        XCTAssertEqual(captured.count, 1)
        XCTAssertEqual(captured.first?.file.hasSuffix("Tests/TestGuests/asserts.c"), true)
        XCTAssertEqual(captured.first?.line, Int(guest_assert_eq_line))
        XCTAssertEqual(captured.first?.description.contains("left = 0x2a (42), right = 0x2b (43)"), true)
    }
}
