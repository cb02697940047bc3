import DemoGuest
import KVMHarness

// Temporary front end until the argument-parser CLI lands: `kvm-harness demo`.
do {
    let vm = try VirtualMachine(entry: GuestFunction(demo_guest_main), arguments: [5])
    print("ucall MMIO address: 0x\(String(vm.ucallAddress, radix: 16))")
    let report = vm.run(RunOptions(onUcall: { vcpu, ucall in print("vCPU \(vcpu): \(ucall)") }))
    print(report.succeeded ? "result: done" : "result: \(report.firstFailure.map { "\($0.outcome)" } ?? "failed")")
} catch {
    print("kvm-harness: \(error)")
}
