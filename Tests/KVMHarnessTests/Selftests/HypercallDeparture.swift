import KVMHarnessTesting
import TestGuests

extension HostDepartures {
    /// Whether a hypercall from CPL0 guest code goes through KVM's instruction emulator, whose hypercall handler
    /// rewrites the instruction in place (the fix-up of the other vendor's hypercall) and has it executed again,
    /// instead of completing it. kvm_pvm does this: with the code read-only the rewrite is a #PF at the hypercall's
    /// own address; with it writable, the hypercall runs again forever. The probe runs a small guest of its own and
    /// looks for that #PF, so that kvm_pv_test and fix_hypercall_test stay strict on a PVM host that completes
    /// hypercalls.
    static let hypercallRewrittenByEmulator: Bool = {
        guard let vm = try? VirtualMachine(entry: GuestFunction(guest_hypercall_probe)) else { return false }
        let report = vm.run(RunOptions(deadline: .seconds(10)))
        guard case .failed(.unhandled(let exception)) = report.vcpus[0].outcome else { return false }
        // A write (error code bit 1) to the faulting instruction's own address: the patch of the hypercall.
        return exception.vector == 14 && exception.cr2 == exception.rip && exception.errorCode & 2 != 0
    }()
}
