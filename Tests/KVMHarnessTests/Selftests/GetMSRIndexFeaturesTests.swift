import KVMHarnessTesting
import Testing

/// Port of Linux 6.12 `x86_64/get_msr_index_features.c`: KVM_GET_MSR_INDEX_LIST and KVM_GET_MSR_FEATURE_INDEX_LIST
/// answer, and every feature MSR listed can be read on the system file descriptor.
@Suite("selftest get_msr_index_features", .requiresKVM)
struct GetMSRIndexFeaturesTests {
    @Test("both index lists, then each feature MSR read alone", .requires(.getMSRFeatures))
    func featureMSRs() throws {
        let kvm = try KVM.shared()
        _ = try kvm.msrIndexList()
        let features = try kvm.featureMSRIndexList()
        for index in features {
            // featureMSR throws unless KVM_GET_MSRS read exactly this one MSR.
            _ = try kvm.featureMSR(index)
        }
        // All at once, KVM reads every one of them as well.
        #expect(try kvm.readFeatureMSRs(features).map(\.index) == features)
    }
}
