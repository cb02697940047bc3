import KVMHarness
internal import CKVM

/// What this host's KVM offers a selftest author, as `kvm-harness probe` prints it.
package struct HostProbe: Sendable {
    /// A capability and what `KVM_CHECK_EXTENSION` returned for it.
    package struct CapabilityValue: Sendable, Equatable {
        /// The capability.
        package var capability: Capability
        /// The value: 0 when absent; often a count or a bit set when present.
        package var value: Int32

        /// Whether the host has it.
        package var isPresent: Bool { value > 0 }
    }

    /// The KVM device.
    package var devicePath: String
    /// `KVM_GET_API_VERSION` (12 on every Linux since 2.6.22).
    package var apiVersion: Int32
    /// The curated capabilities (`Capability.curated`), in that order.
    package var capabilities: [CapabilityValue]
    /// The host CPU's physical and linear address widths (CPUID 0x80000008).
    package var hostAddressBits: (physical: Int, virtual: Int)
    /// The widths KVM offers guests (`KVM_GET_SUPPORTED_CPUID` leaf 0x80000008).
    package var guestAddressBits: (physical: Int, virtual: Int)
    /// The CPU vendor string ("GenuineIntel", "AuthenticAMD").
    package var cpuVendor: String
    /// The ucall MMIO address a VM with the default configuration gets.
    package var defaultUcallAddress: UInt64
    /// `KVM_CAP_NR_VCPUS`: the recommended number of vCPUs per VM (KVM's documentation says to assume 4 for 0).
    package var recommendedVCPUs: Int32
    /// `KVM_CAP_MAX_VCPUS`: the most vCPUs a VM may have (KVM's documentation says to use the recommended
    /// number for 0).
    package var maximumVCPUs: Int32

    /// Opens the KVM device, reads what it offers, and creates (and discards) a default VM to learn its ucall
    /// MMIO address.
    ///
    /// - Throws: the errors of `KVM.init` and `VirtualMachine.init`, with their hints.
    package static func gather(devicePath: String = KVM.defaultPath) throws(KVMError) -> HostProbe {
        let kvm = try KVM.shared(path: devicePath)
        let vm = try VirtualMachine(configuration: VirtualMachine.Configuration(devicePath: devicePath), kvm: kvm)
        let recommended = kvm.check(.recommendedVCPUs)
        let maximum = kvm.check(.maxVCPUs)
        return HostProbe(
            devicePath: devicePath, apiVersion: (try? kvm.apiVersion()) ?? -1,
            capabilities: Capability.curated.map { CapabilityValue(capability: $0, value: kvm.check($0)) },
            hostAddressBits: KVM.hostAddressBits,
            guestAddressBits: (kvm.supportedCPUID.physicalAddressBits, kvm.supportedCPUID.virtualAddressBits),
            cpuVendor: kvm.supportedCPUID.vendor, defaultUcallAddress: vm.ucallAddress,
            recommendedVCPUs: recommended == 0 ? 4 : recommended,
            maximumVCPUs: maximum == 0 ? (recommended == 0 ? 4 : recommended) : maximum)
    }

    /// The probe as readable text.
    package var text: String {
        var lines = [
            "KVM device: \(devicePath), API version \(apiVersion)",
            "CPU vendor: \(cpuVendor.isEmpty ? "unknown" : cpuVendor)",
            "host address bits: \(hostAddressBits.physical) physical, \(hostAddressBits.virtual) virtual",
            "guest address bits: \(guestAddressBits.physical) physical, \(guestAddressBits.virtual) virtual "
                + "(KVM_GET_SUPPORTED_CPUID)",
            "ucall MMIO address of a default VM: \(hex(defaultUcallAddress))",
            "vCPUs per VM: \(recommendedVCPUs) recommended (KVM_CAP_NR_VCPUS), \(maximumVCPUs) at most "
                + "(KVM_CAP_MAX_VCPUS)",
            "capabilities:",
        ]
        let width = capabilities.map { $0.capability.name.count + valueSuffix($0).count }.max() ?? 0
        for entry in capabilities {
            let name = entry.capability.name + valueSuffix(entry)
            let padding = String(repeating: " ", count: width - name.count)
            lines.append("  \(entry.isPresent ? "yes" : "no ")  \(name)\(padding)  \(entry.capability.meaning ?? "")")
        }
        return lines.joined(separator: "\n")
    }

    /// " = 4" for capabilities whose value is more than "present", "" otherwise.
    private func valueSuffix(_ entry: CapabilityValue) -> String { entry.value > 1 ? " = \(entry.value)" : "" }

    /// The probe as one JSON object.
    package var json: JSONObject {
        var object: JSONObject = ["event": .string("probe"), "device": .string(devicePath)]
        object["api_version"] = .int(Int64(apiVersion))
        object["cpu_vendor"] = .string(cpuVendor)
        object["host_address_bits"] = .object([
            "physical": .int(Int64(hostAddressBits.physical)), "virtual": .int(Int64(hostAddressBits.virtual)),
        ])
        object["guest_address_bits"] = .object([
            "physical": .int(Int64(guestAddressBits.physical)), "virtual": .int(Int64(guestAddressBits.virtual)),
        ])
        object["ucall_mmio_gpa"] = .hex(defaultUcallAddress)
        object["vcpus"] = .object([
            "recommended": .int(Int64(recommendedVCPUs)), "maximum": .int(Int64(maximumVCPUs)),
        ])
        object["capabilities"] = .array(
            capabilities.map { entry in
                .object([
                    "name": .string(entry.capability.name), "present": .bool(entry.isPresent),
                    "value": .int(Int64(entry.value)),
                ])
            })
        return object
    }
}
