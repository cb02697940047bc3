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
