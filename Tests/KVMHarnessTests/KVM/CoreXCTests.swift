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
