import Glibc
import KVMHarness

/// The host a run happened on, as a record keeps it: what differs from fleet host to fleet host and can explain
/// why the same image behaved differently.
package struct HostDescription: Sendable, Equatable {
    /// The node name (`uname -n`).
    package var hostname: String
    /// The CPUID vendor string KVM reports ("GenuineIntel", "AuthenticAMD").
    package var cpuVendor: String
    /// The first "model name" of /proc/cpuinfo, or "" if it cannot be read.
    package var cpuModel: String
    /// The kernel release (`uname -r`).
    package var kernel: String
    /// The machine (`uname -m`).
    package var machine: String
    /// `KVM_GET_API_VERSION`.
    package var kvmAPIVersion: Int32
    /// The curated capabilities and what `KVM_CHECK_EXTENSION` returned for each, in `Capability.curated` order.
    package var capabilities: [(name: String, value: Int32)]

    /// Describes this host, asking `kvm` for what KVM offers.
    package static func gather(kvm: KVM) -> HostDescription {
        var names = utsname()
        uname(&names)
        return HostDescription(
            hostname: field(names.nodename), cpuVendor: kvm.supportedCPUID.vendor, cpuModel: cpuModel(),
            kernel: field(names.release), machine: field(names.machine),
            kvmAPIVersion: (try? kvm.apiVersion()) ?? -1,
            capabilities: Capability.curated.map { ($0.name, kvm.check($0)) })
    }

    /// A description with these fields.
    package init(
        hostname: String, cpuVendor: String, cpuModel: String, kernel: String, machine: String, kvmAPIVersion: Int32,
        capabilities: [(name: String, value: Int32)]
    ) {
        self.hostname = hostname
        self.cpuVendor = cpuVendor
        self.cpuModel = cpuModel
        self.kernel = kernel
        self.machine = machine
        self.kvmAPIVersion = kvmAPIVersion
        self.capabilities = capabilities
    }

    /// The description as a JSON object.
    package var json: JSONObject {
        var object: JSONObject = ["hostname": .string(hostname), "cpu_vendor": .string(cpuVendor)]
        object["cpu_model"] = .string(cpuModel)
        object["kernel"] = .string(kernel)
        object["machine"] = .string(machine)
        object["kvm_api_version"] = .int(Int64(kvmAPIVersion))
        var capabilities = JSONObject()
        for capability in self.capabilities { capabilities[capability.name] = .int(Int64(capability.value)) }
        object["capabilities"] = .object(capabilities)
        return object
    }

    /// One line for people: "GenuineIntel Intel(R) Xeon(R) ..., Linux 6.18.0 x86_64, KVM API 12".
    package var summary: String {
        "\(cpuVendor)\(cpuModel.isEmpty ? "" : " " + cpuModel), Linux \(kernel) \(machine), KVM API \(kvmAPIVersion)"
    }

    package static func == (lhs: HostDescription, rhs: HostDescription) -> Bool {
        lhs.json == rhs.json
    }

    private static func field<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// The first "model name" line of /proc/cpuinfo (read at most 64 KiB).
    private static func cpuModel() -> String {
        let descriptor = open("/proc/cpuinfo", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return "" }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: 65536)
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            filled += count
        }
        let text = String(decoding: bytes[..<filled], as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return String(line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" })
        }
        return ""
    }
}
