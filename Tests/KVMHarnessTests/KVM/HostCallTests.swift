import Foundation
import KVMHarnessGuest
import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

/// The host's answer to GUEST_CALL_SUM: the sum of the u64s in the buffer (args[0] of them), each doubled in place.
let sumHandler: HostCallHandler = { call in
    let count = Int(call.arguments[0])
    guard call.buffer.count == count * 8 else { throw SumError.wrongLength(call.buffer.count) }
    var values = call.buffer.withUnsafeBytes { Array($0.bindMemory(to: UInt64.self)) }
    call.arguments[0] = values.reduce(0, &+)
    for i in values.indices { values[i] &*= 2 }
    call.buffer = values.withUnsafeBytes { Array($0) }
}

enum SumError: Error, CustomStringConvertible {
    case wrongLength(Int)
    case refused
    var description: String {
        switch self {
        case .wrongLength(let length): return "buffer of \(length) bytes"
        case .refused: return "the test's handler refuses call 0x101"
        }
    }
}

@Suite("Host calls: ucalls the host answers", .requiresKVM)
struct HostCallTests {
    @Test("the guest asks the host to sum an array it passes in a buffer, and gets the sum and the doubled array back",
          arguments: [UInt64(0), 1])
    func sumArray(pio: UInt64) async throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_sum_array), arguments: [100, pio])
        vm.answerHostCalls(UInt64(GUEST_CALL_SUM), with: sumHandler)
        let expected = (0..<UInt64(100)).reduce(0) { $0 + $1 * $1 + 1 }
        await vm.expectRun(ucalls: [
            .hostCall(command: UInt64(GUEST_CALL_SUM), arguments: [100]), .sync(stage: 1, expected, 100), .done,
        ])
    }

    @Test("a handler that throws fails the run at the guest's call site")
    func throwingHandler() async throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_host_call_throws))
        vm.answerHostCalls(UInt64(GUEST_CALL_THROWS)) { _ in throw SumError.refused }
        let report = await vm.run()
        guard case .failed(.abort(let assertion)) = report.vcpus[0].outcome else {
            Issue.record("expected an ABORT, got \(report.vcpus[0].outcome)")
            return
        }
        #expect(assertion.file?.hasSuffix("Tests/TestGuests/host_calls.c") == true)
        #expect(assertion.line == guest_host_call_throws_line)
        #expect(assertion.expression == "host call 0x101")
        #expect(assertion.message == "the host's handler threw: the test's handler refuses call 0x101")
        withKnownIssue {
            expectGuestRun(report)
        } matching: { issue in
            issue.sourceLocation?.fileName == "host_calls.c"
                && issue.sourceLocation?.line == Int(guest_host_call_throws_line)
        }
    }

    @Test("a buffer whose reply would land outside guest memory is the typed error")
    func replyOutsideMemory() async throws {
        // Writable in the guest's page tables, but at a guest-physical address no memslot backs.
        let gva: UInt64 = 0x7f00_0000_0000
        let gpa: UInt64 = 0x40_0000_0000
        let vm = try VirtualMachine(entry: GuestFunction(guest_host_call_buffer_at), arguments: [gva])
        try vm.map(gva: gva, gpa: gpa, size: 4096)
        vm.answerHostCalls(UInt64(GUEST_CALL_SUM), with: sumHandler)
        #expect(throws: KVMError.malformedUcall(.replyOutsideMemory(gva: gva, gpa: gpa))) {
            try vm.vcpus[0].nextUcall()
        }
    }

    @Test("the built-in calls: echo inverts the arguments and reverses the buffer; time is the host's")
    func builtIns() async throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_host_echo))
        let before = UInt64(Date().timeIntervalSince1970 * 1e9)
        let report = await vm.expectRun()
        let after = UInt64(Date().timeIntervalSince1970 * 1e9)
        guard case .sync(let args)? = report.vcpus[0].checkpoints.dropLast().last else {
            Issue.record("no SYNC: \(report.vcpus[0].ucalls)")
            return
        }
        #expect(args[1] >= before && args[1] <= after)
        #expect(report.vcpus[0].checkpoints.first == .hostCall(command: HostCall.echoCommand, arguments: [1, 2, 3, 4, 5, 6, 7]))
    }
}
