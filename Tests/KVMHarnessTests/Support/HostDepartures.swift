import Foundation

/// Where this host's KVM departs from the architecture. Tests assert the architectural behaviour and record a known
/// issue naming the departure only where the host shows it (`withKnownIssue { ... } when: { ... }`), so the suite is
/// green on such a host and strict everywhere else.
enum HostDepartures {
    /// The host's KVM is PVM (`kvm_pvm`), software virtualization: CPL0 guest code runs in KVM's instruction emulator,
    /// and its checks of vCPU state differ from VMX's and SVM's in a few places.
    static let isPVM = FileManager.default.fileExists(atPath: "/sys/module/kvm_pvm")
}
