import Foundation
import KVMHarnessTesting
import Synchronization
import Testing

@testable import KVMHarness

/// A port of Linux 6.12's `x86_64/recalc_apic_map_test.c`: KVM rebuilds its map of APIC IDs whenever one changes;
/// with more vCPUs than xAPIC IDs (all in x2APIC mode, so none alias), one thread loads vCPU 0's local APIC state
/// over and over (each load recalculates the map) while another enables and disables the last vCPU's APIC, to
/// race the two recalculations. The kernel's version races for 5 s; this one for
/// `KVMHARNESS_RECALC_APIC_MAP_SECONDS` (0.5 by default). Passing means every ioctl succeeded and KVM neither
/// crashed nor hung.
@Suite("selftest recalc_apic_map_test", .requiresKVM)
struct RecalcAPICMapTests {
    @Test("SET_LAPIC on one vCPU races enabling and disabling another's x2APIC, with more vCPUs than xAPIC IDs")
    func recalculationRace() throws {
        let seconds =
            ProcessInfo.processInfo.environment["KVMHARNESS_RECALC_APIC_MAP_SECONDS"].flatMap(Double.init) ?? 0.5
        let kvm = try KVM.shared()
        // The kernel's selftests allow 512 vCPUs; any number above 255 (the largest xAPIC ID) makes the point.
        let count = min(512, Int(kvm.check(.maxVCPUs)))
        try #require(count > 0xff, "this host allows only \(count) vCPUs per VM")
        let vm = try VirtualMachine(
            configuration: .init(harnessSetUp: false, interruptController: .full), kvm: kvm)
        var vcpus: [VCPU] = []
        let x2apic = APICMode.x2APIC.applied(to: 0xfee0_0000)
        for id in 0..<count {
            let vcpu = try vm.addBareVCPU(id: id)
            try vcpu.setCPUID(kvm.supportedCPUID.withAPICID(UInt32(id)))
            try vcpu.setMSR(APICMode.baseMSR, to: x2apic)
            vcpus.append(vcpu)
        }
        let stop = Atomic<Bool>(false)
        let failures = Mutex<[String]>([])
        let first = vcpus[0]
        let racer = try OSThread {
            let zeros = LocalAPICState()
            while !stop.load(ordering: .relaxed) {
                do { try first.setLocalAPIC(zeros) } catch {
                    failures.withLock { $0.append("\(error)") }
                    break
                }
            }
        }
        let last = vcpus[count - 1]
        let end = Date().addingTimeInterval(seconds)
        var toggles = 0
        do {
            // Stop and join the racer however this loop ends.
            defer {
                stop.store(true, ordering: .relaxed)
                racer.join()
            }
            while Date() < end {
                try last.setMSR(APICMode.baseMSR, to: x2apic)
                try last.setMSR(APICMode.baseMSR, to: 0)
                toggles += 1
            }
        }
        #expect(failures.withLock { $0 } == [])
        #expect(toggles > 0)
    }
}
