import Testing
import XCTest

/// What a test needs of the host beyond KVM itself: a capability, or a CPU feature KVM can give a vCPU. A host that
/// lacks it skips the test with a reason that names what is missing, as the kernel selftests' `TEST_REQUIRE` does;
/// `scripts/test.sh` allows such skips (and lists them) while every other skip is a failure where /dev/kvm exists.
public enum HostRequirement: Sendable, CustomStringConvertible {
    /// `KVM_CHECK_EXTENSION` on the system file descriptor must return more than 0.
    case capability(Capability)
    /// `KVM_GET_SUPPORTED_CPUID` must report the feature.
    case cpuFeature(CPUFeature)

    /// Nil when the host meets the requirement, else the reason to skip (always starting "requires ").
    public var unmetReason: String? {
        guard let kvm = try? KVM.shared() else {
            return "requires KVM: \(KVMAvailability.unavailableReason ?? "KVM cannot be opened")"
        }
        switch self {
        case .capability(let capability):
            return kvm.has(capability)
                ? nil : "requires \(capability.name): this host's KVM lacks it (KVM_CHECK_EXTENSION returned 0)"
        case .cpuFeature(let feature):
            return kvm.supports(feature)
                ? nil : "requires CPU feature \(feature): KVM_GET_SUPPORTED_CPUID lacks it on this host"
        }
    }

    public var description: String {
        switch self {
        case .capability(let capability): capability.name
        case .cpuFeature(let feature): feature.description
        }
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test only where the host's KVM has `capability`; elsewhere it is skipped with a reason naming it.
    public static func requires(_ capability: Capability) -> Self { requires(.capability(capability)) }

    /// Runs the test only where KVM can give a vCPU `feature`; elsewhere it is skipped with a reason naming it.
    public static func requires(_ feature: CPUFeature) -> Self { requires(.cpuFeature(feature)) }

    /// Runs the test only where the host meets `requirement`.
    public static func requires(_ requirement: HostRequirement) -> Self {
        .enabled(Comment(rawValue: "requires \(requirement)")) {
            if let reason = requirement.unmetReason {
                // The comment Swift Testing shows is the trait's; record the precise reason in the log too.
                print("skipped: \(reason)")
                return false
            }
            return true
        }
    }
}

extension XCTestCase {
    /// Skips the test, with a reason naming what is missing, unless the host meets every requirement.
    public func skipUnless(_ requirements: HostRequirement...) throws {
        try skipUnlessKVM()
        for requirement in requirements {
            if let reason = requirement.unmetReason { throw XCTSkip(reason) }
        }
    }
}
