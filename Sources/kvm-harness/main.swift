import DemoGuest
import KVMHarness

let vm = try VirtualMachine(entry: GuestFunction(demo_guest_main), arguments: [5])
while true {
    let ucall = try vm.vcpus[0].nextUcall()
    print(ucall)
    if case .done = ucall { break }
}
