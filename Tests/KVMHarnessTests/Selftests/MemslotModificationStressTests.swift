import Glibc
import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

/// A port of Linux 6.18's `memslot_modification_stress_test.c`: vCPUs write every page of their own memory, pass
/// after pass, while the host adds and deletes a one-page slot just below that memory; every vCPU exit must be its
/// SYNC, and every page must hold a pass number the vCPU reached.
///
/// Short parameters: 2 vCPUs with 4 MiB each (the C test: 1 vCPU, 1 GiB), 10 modifications with no delay (as the
/// C test), `KVMH_MEMSTRESS_*` for more.
@Suite("selftest memslot_modification_stress_test", .requiresKVM)
struct MemslotModificationStressTests {
    static let vcpus = DirtyLogTests.environment("KVMH_MEMSTRESS_VCPUS") ?? 2
    static let bytesPerVCPU = UInt64(DirtyLogTests.environment("KVMH_MEMSTRESS_MB") ?? 4) << 20
    static let modifications = DirtyLogTests.environment("KVMH_MEMSTRESS_MODIFICATIONS") ?? 10
    static let gpa: UInt64 = 1 << 36
    static let gva: UInt64 = 0x10_0000_0000
    static let dummySlot: UInt32 = 7

    @Test("vCPUs write their memory while a slot below it is added and deleted")
    func stress() throws {
        let vm = try VirtualMachine(configuration: .init())
        let total = Self.bytesPerVCPU * UInt64(Self.vcpus)
        try vm.addMemslot(gpa: Self.gpa, size: total)
        try vm.map(gva: Self.gva, gpa: Self.gpa, size: total)
        for index in 0..<Self.vcpus {
            try vm.addVCPU(
                entry: GuestFunction(guest_memstress),
                arguments: [Self.gva + UInt64(index) * Self.bytesPerVCPU, Self.bytesPerVCPU / 4096])
        }
        let passes = Locked([Int: UInt64]())
        let failures = Locked([String]())
        let threads = try vm.vcpus.map { vcpu in
            try OSThread {
                while true {
                    do {
                        switch try vcpu.step() {
                        case .ucall(.sync(let args)): passes.withLock { $0[vcpu.index] = args[0] }
                        case .kicked: return
                        case let event:
                            failures.withLock { $0.append("vCPU \(vcpu.index): \(event)") }
                            return
                        }
                    } catch {
                        failures.withLock { $0.append("vCPU \(vcpu.index): \(error)") }
                        return
                    }
                }
            }
        }
        // Let every vCPU finish a pass, then modify the slots under them.
        while passes.withLock({ $0.count }) < Self.vcpus && failures.withLock({ $0.isEmpty }) { usleep(1000) }
        for _ in 0..<Self.modifications {
            try vm.addMemslot(Self.dummySlot, gpa: Self.gpa - 4096, size: 4096)
            try vm.deleteMemslot(Self.dummySlot)
        }
        for vcpu in vm.vcpus { vcpu.kick() }
        for thread in threads { thread.join() }
        #expect(failures.withLock { $0 } == [])
        let reached = passes.withLock { $0 }
        let memory = try vm.hostMemory(gpa: Self.gpa, count: Int(total))
        for index in 0..<Self.vcpus {
            let last = reached[index] ?? 0
            #expect(last >= 1, "vCPU \(index) finished a pass")
            let base = Int(UInt64(index) * Self.bytesPerVCPU)
            let pages = Int(Self.bytesPerVCPU / 4096)
            let wrong = (0..<pages).filter {
                let value = memory.load(fromByteOffset: base + $0 * 4096, as: UInt64.self)
                return value < last || value > last + 1
            }
            #expect(wrong.isEmpty, "vCPU \(index): \(wrong.count) pages hold neither pass \(last) nor \(last + 1)")
        }
    }
}
