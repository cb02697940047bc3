@_exported import KVMHarness
import Glibc

/// Whether this host can run guests, decided once per process.
///
/// Where `/dev/kvm` is missing, KVM tests skip with the reason. Where it exists they must run: a KVM test that
/// cannot open it fails instead of skipping. Setting `KVMHARNESS_REQUIRE_KVM=1` (as `.ci/run` does on KVM hosts)
/// turns a missing device into a failure too.
public enum KVMAvailability {
    /// Nil when KVM works; otherwise the one-line reason (the same text as the error a VM would throw).
    public static let unavailableReason: String? = {
        guard access(KVM.defaultPath, F_OK) == 0 else {
            return "no \(KVM.defaultPath) on this host: KVM tests need hardware virtualization and the kvm module"
        }
        return nil
    }()

    /// Whether the environment demands that KVM tests run (`KVMHARNESS_REQUIRE_KVM=1`).
    public static var isRequired: Bool { getenv("KVMHARNESS_REQUIRE_KVM").map { String(cString: $0) == "1" } ?? false }

    /// Whether KVM tests should run: the device exists, or the environment requires them (they then fail loudly).
    public static var shouldRun: Bool { unavailableReason == nil || isRequired }
}
