import Glibc
import KVMHarnessTesting
import Testing

/// Port of Linux 6.12 `kvm_create_max_vcpus.c`: a VM takes `KVM_CAP_MAX_VCPUS` vCPUs, with the lowest ids and with
/// the highest ids below `KVM_CAP_MAX_VCPU_ID`.
@Suite("selftest kvm_create_max_vcpus", .requiresKVM)
struct CreateMaxVCPUsTests {
    // 2 x 1,024 vCPUs take 0.5 s on the kvm_pvm development host (0.24 s and 0.16 s to create, the rest to free);
    // the limit only stops a host where vCPU creation has become pathologically slow from stalling CI.
    @Test(
        "KVM_CAP_MAX_VCPUS vCPUs with ids from 0, then with the highest ids KVM_CAP_MAX_VCPU_ID allows",
        .timeLimit(.minutes(2)))
    func createMaxVCPUs() throws {
        let kvm = try KVM.shared()
        let maxVCPUs = Int(kvm.check(.maxVCPUs))
        // KVM before 4.8 has no KVM_CAP_MAX_VCPU_ID; KVM_CAP_MAX_VCPUS is then the limit on ids too.
        let maxID = kvm.has(.maxVCPUID) ? Int(kvm.check(.maxVCPUID)) : maxVCPUs
        #expect(maxID >= maxVCPUs, "KVM_CAP_MAX_VCPU_ID must be at least KVM_CAP_MAX_VCPUS")
        // One descriptor per vCPU, and room for the rest of the test process.
        try raiseOpenFileLimit(to: maxVCPUs + 100)

        try createVCPUs(ids: 0..<maxVCPUs)
        if maxID > maxVCPUs { try createVCPUs(ids: (maxID - maxVCPUs)..<maxID) }
    }

    /// Creates a VM with a bare vCPU for each id (each `KVM_CREATE_VCPU` must succeed), then frees it.
    private func createVCPUs(ids: Range<Int>) throws {
        let started = ContinuousClock.now
        let vm = try VirtualMachine()
        var vcpus: [VCPU] = []
        vcpus.reserveCapacity(ids.count)
        for id in ids { vcpus.append(try vm.addBareVCPU(id: id)) }
        #expect(vcpus.map(\.index) == Array(ids))
        let elapsed = ContinuousClock.now - started
        print("created \(ids.count) vCPUs, ids \(ids.lowerBound)...\(ids.upperBound - 1), in \(elapsed)")
    }

    /// Raises RLIMIT_NOFILE's soft limit (and the hard one, where allowed) to at least `wanted`.
    private func raiseOpenFileLimit(to wanted: Int) throws {
        let openFiles = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        var limit = rlimit()
        try #require(getrlimit(openFiles, &limit) == 0)
        guard limit.rlim_cur < rlim_t(wanted) else { return }
        limit.rlim_cur = rlim_t(wanted)
        limit.rlim_max = max(limit.rlim_max, rlim_t(wanted))
        try #require(setrlimit(openFiles, &limit) == 0, "RLIMIT_NOFILE cannot be raised to \(wanted)")
    }
}
