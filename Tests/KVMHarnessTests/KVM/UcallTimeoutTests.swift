import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

@Suite("nextUcall(timeout:): a guest that never makes a ucall ends the wait, not the test", .requiresKVM)
struct UcallTimeoutTests {
    @Test("a spinning guest: .ucallTimedOut at the loop, and the vCPU can be run again")
    func spinningGuestTimesOut() throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_spin))
        let vcpu = vm.vcpus[0]
        #expect(try vcpu.nextUcall(timeout: .seconds(10)) == .sync([1]))
        let loop = guest_spin_loop_address()
        for attempt in 1...2 {
            let started = ContinuousClock.now
            do {
                let ucall = try vcpu.nextUcall(timeout: .milliseconds(200))
                Issue.record("attempt \(attempt): expected a timeout, got \(ucall)")
            } catch .ucallTimedOut(let index, let seconds, let programCounter) {
                #expect(index == 0)
                #expect(seconds == 0.2)
                // The loop is a PAUSE and a JMP back to it: the vCPU stops on one of the two.
                #expect(programCounter >= loop && programCounter < loop + 4, "stopped at \(hex(programCounter))")
            }
            // Each wait ended by its own watchdog, not by a kick left over from the one before.
            #expect(ContinuousClock.now - started >= .milliseconds(200), "attempt \(attempt) ended early")
            #expect(!vcpu.isKicked)
        }
    }

    @Test("a ucall in time is returned and leaves the vCPU unkicked")
    func ucallInTime() throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_spin))
        let vcpu = vm.vcpus[0]
        #expect(try vcpu.nextUcall(timeout: .seconds(10)) == .sync([1]))
        #expect(!vcpu.isKicked)
    }

    @Test("the error is one line naming the vCPU, the time and where the guest was")
    func description() {
        let error = KVMError.ucallTimedOut(vcpu: 3, seconds: 0.5, programCounter: 0x401000)
        #expect(error.description.contains("vCPU 3 made no ucall within 0.5 s"))
        #expect(error.description.contains("0x401000"))
        #expect(!error.description.contains("\n"))
    }
}
