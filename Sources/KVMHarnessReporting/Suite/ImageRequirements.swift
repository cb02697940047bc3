import KVMHarness

/// What an image declares it needs: how many vCPUs it runs on, and the KVM capabilities and CPU features without
/// which the suite runner reports it as skipped (`# SKIP` in KTAP) instead of running it.
///
/// The declaration is a NUL-terminated string in a loaded segment of the image, named by the symbol
/// `kvm_harness_requires` (docs/guest-image-abi.md): words separated by spaces, each `vcpus=N`, `cap=NAME` (a
/// `KVM_CAP_*` name, with or without the prefix, or its number) or `cpu=FEATURE` (a /proc/cpuinfo flag name such
/// as `vmx` or `x2apic`). An image without the symbol needs one vCPU and nothing else.
package struct ImageRequirements: Sendable, Equatable {
    /// The symbol that names the declaration.
    package static let symbolName = "kvm_harness_requires"
    /// The longest declaration read, in bytes (without its NUL).
    package static let maximumLength = 4096
    /// The most vCPUs a declaration may ask for.
    package static let maximumVCPUs = 1024

    /// How many vCPUs run the image.
    package var vcpus: Int
    /// The KVM capabilities it needs (`KVM_CHECK_EXTENSION` must return more than 0).
    package var capabilities: [Capability]
    /// The CPU features it needs in KVM's supported CPUID.
    package var cpuFeatures: [CPUFeature]

    /// One vCPU, nothing required.
    package init(vcpus: Int = 1, capabilities: [Capability] = [], cpuFeatures: [CPUFeature] = []) {
        self.vcpus = vcpus
        self.capabilities = capabilities
        self.cpuFeatures = cpuFeatures
    }

    /// Parses a declaration.
    ///
    /// - Throws: a message naming the word that is wrong and what is accepted.
    package init(declaration: String) throws(RequirementError) {
        self.init()
        var sawVCPUs = false
        for word in declaration.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }) {
            guard let equals = word.firstIndex(of: "=") else {
                throw RequirementError("'\(word)' is not KEY=VALUE (vcpus=N, cap=NAME, cpu=FEATURE)")
            }
            let key = word[..<equals].lowercased()
            let value = String(word[word.index(after: equals)...])
            switch key {
            case "vcpus":
                guard !sawVCPUs else { throw RequirementError("vcpus is declared twice") }
                guard let count = Int(value), (1...Self.maximumVCPUs).contains(count) else {
                    throw RequirementError("vcpus=\(value) is not a number from 1 to \(Self.maximumVCPUs)")
                }
                vcpus = count
                sawVCPUs = true
            case "cap":
                guard let capability = Self.capability(named: value) else {
                    let names = Capability.curated.map(\.name).joined(separator: ", ")
                    throw RequirementError(
                        "cap=\(value) is not a capability this tool knows by name: use its number from "
                            + "<linux/kvm.h> (cap=N) or one of \(names)")
                }
                capabilities.append(capability)
            case "cpu":
                guard let feature = CPUFeatureNames.feature(named: value) else {
                    throw RequirementError(
                        "cpu=\(value) is not a CPU feature this tool knows: one of "
                            + CPUFeatureNames.names.joined(separator: ", "))
                }
                cpuFeatures.append(feature)
            default:
                throw RequirementError("unknown requirement '\(key)' (vcpus=N, cap=NAME, cpu=FEATURE)")
            }
        }
    }

    /// The declaration of `image`, or the defaults if it has no `kvm_harness_requires` symbol.
    ///
    /// - Throws: when the symbol does not point into a loaded segment's file bytes, the string has no NUL within
    ///   `maximumLength` bytes, is not UTF-8, or does not parse.
    package init(image: ELFImage) throws(RequirementError) {
        guard let symbol = image.symbol(named: Self.symbolName) else {
            self.init()
            return
        }
        let address = symbol.value
        guard
            let segment = image.segments.first(where: {
                address >= $0.virtualAddress && address - $0.virtualAddress < UInt64($0.data.count)
            })
        else {
            throw RequirementError(
                "\(Self.symbolName) at \(hex(address)) is not inside the file bytes of a loaded segment")
        }
        let start = Int(address - segment.virtualAddress)
        let available = segment.data[start...].prefix(Self.maximumLength + 1)
        guard let end = available.firstIndex(of: 0) else {
            throw RequirementError(
                "\(Self.symbolName) has no terminating NUL within \(Self.maximumLength) bytes")
        }
        guard let text = String(validating: segment.data[start..<end], as: UTF8.self) else {
            throw RequirementError("\(Self.symbolName) is not UTF-8 text")
        }
        try self.init(declaration: text)
    }

    /// The capability called `name` ("KVM_CAP_XSAVE", "xsave") among those the tool names, or the one numbered
    /// `name` ("12", "0xc").
    package static func capability(named name: String) -> Capability? {
        let text = name.lowercased()
        if let number = text.hasPrefix("0x") ? Int32(text.dropFirst(2), radix: 16) : Int32(text), number >= 0 {
            return Capability(rawValue: number)
        }
        let key = text.hasPrefix("kvm_cap_") ? text : "kvm_cap_" + text
        return Capability.curated.first { $0.name.lowercased() == key }
    }

    /// Why this host cannot run the image, or nil if it can: every missing capability and CPU feature, in the order
    /// declared ("KVM lacks KVM_CAP_X86_USER_SPACE_MSR; KVM does not offer CPU feature vmx (CPUID...)").
    ///
    /// - Parameters:
    ///   - check: `KVM_CHECK_EXTENSION` on the system descriptor.
    ///   - offers: whether KVM's supported CPUID has a feature (`KVM.supports(_:)`).
    package func missing(check: (Capability) -> Int32, offers: (CPUFeature) -> Bool) -> String? {
        var reasons: [String] = []
        for capability in capabilities where check(capability) <= 0 {
            reasons.append("KVM lacks \(capability.name)")
        }
        for feature in cpuFeatures where !offers(feature) {
            reasons.append("KVM does not offer CPU feature \(feature.name) (\(CPUFeatureNames.location(of: feature)))")
        }
        return reasons.isEmpty ? nil : reasons.joined(separator: "; ")
    }
}

/// A declaration of requirements that cannot be read or parsed.
package struct RequirementError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The one-line reason.
    package var message: String

    /// An error with this message.
    package init(_ message: String) { self.message = message }

    package var description: String { message }
}
