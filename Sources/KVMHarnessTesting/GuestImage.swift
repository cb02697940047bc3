extension VirtualMachine {
    /// Creates a VM running a stand-alone guest image, such as one the SwiftGuestImages plugin builds from
    /// Embedded Swift: parses the ELF file, places it (`load(_:)`), and adds `vcpus` vCPUs starting at its entry
    /// point, vCPU i with RDI = i as `kvm-harness run` starts them, or every vCPU with `arguments` when given.
    ///
    /// - Throws: `ELFError` if the file cannot be read or is not a guest image, `GuestImageError` if it cannot be
    ///   placed in this VM, `KVMError` for the VM and its vCPUs.
    public convenience init(
        imagePath: String, vcpus: Int = 1, arguments: [UInt64]? = nil, configuration: Configuration = Configuration()
    ) throws {
        let image = try ELFImage(contentsOf: imagePath)
        try self.init(configuration: configuration)
        guard vcpus >= 1 else { throw KVMError.invalidArgument("a VM needs at least one vCPU, not \(vcpus)") }
        let loaded = try load(image)
        for index in 0..<vcpus {
            try addVCPU(entryAddress: loaded.entry, arguments: arguments ?? [UInt64(index)])
        }
    }
}
