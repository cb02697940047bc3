// Tests/GuestTests/SumTests.swift
import KVMHarnessTesting
import MyGuests
import Testing

@Test(.requiresKVM) func sumOfOneToTen() async throws {
    let vm = try VirtualMachine(entry: GuestFunction(guest_sum), arguments: [1, 10, 55])
    await vm.expectRun(ucalls: [
        .sync(stage: 1, 1, 10),
        .sync(stage: 2, 55),
        .done,
    ])
}

@Test(.requiresKVM) func sumStepByStep() throws {
    let vm = try VirtualMachine(entry: GuestFunction(guest_sum), arguments: [1, 10, 55])
    let vcpu = vm.vcpus[0]
    #expect(try vcpu.nextUcall() == .sync(stage: 1, 1, 10))
    #expect(try vcpu.nextUcall() == .sync(stage: 2, 55))
    #expect(try vcpu.nextUcall() == .done)
}

@Test(.requiresKVM) func wrongSumFailsInTheGuest() async throws {
    let vm = try VirtualMachine(entry: GuestFunction(guest_sum), arguments: [1, 10, 56])
    let report = await vm.run()
    let vcpu = report.vcpus[0]
    #expect(vcpu.checkpoints.first == .sync(stage: 1, 1, 10))
    guard case .failed(.abort(let assertion)) = vcpu.outcome else {
        Issue.record("expected a failed guest assertion, got \(vcpu.outcome)")
        return
    }
    #expect(assertion.expression == "sum == expected")
    #expect(assertion.file?.hasSuffix("guests.c") == true)
    #expect(assertion.message == "expected sum == expected: left = 0x37 (55), right = 0x38 (56)")
}
